using ExtAuthz.Registry.Tests.Support;
using static ExtAuthz.Registry.Tests.Loading.LoadingTestKit;

namespace ExtAuthz.Registry.Tests.Loading;

/// <summary>A role's sessions: temporary access keys with a session token, read from a Secret mount like access key secrets.</summary>
public sealed class RoleSessionLoadingTests : IDisposable
{
    private readonly TempConfigDirectory dir = new();
    private readonly string configMap;
    private readonly string secret;

    public RoleSessionLoadingTests()
    {
        configMap = dir.Subdirectory("configmap");
        secret = dir.Subdirectory("secret");
        dir.Write("secret/session.secret", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY\n");
        dir.Write("secret/session.token", "  FwoGZXIvYXdzEXAMPLE//////////wEaDEXAMPLETOKEN==\n");
        dir.Write("secret/alice.secret", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n");
    }

    public void Dispose() => dir.Dispose();

    private void Registry(string yaml) => dir.Write("configmap/registry.yaml", Header + yaml);

    private string File => dir["configmap/registry.yaml"];

    [Fact]
    public void A_role_session_is_a_temporary_access_key_of_the_role()
    {
        Registry("""
            iam:
              users:
                - name: alice
                  accessKeys:
                    - id: AKIAIOSFODNN7EXAMPLE
                      secretFile: alice.secret
              roles:
                - name: DeviceRole
                  sessions:
                    - id: ASIAIOSFODNN7EXAMPLE
                      secretFile: session.secret
                      sessionTokenFile: session.token
                      expiration: 2026-03-01T08:30:00Z
                    - id: ASIAIOSFODNN7EXAMPL2
                      secretFile: session.secret
                      sessionTokenFile: session.token
                      expiration: "2026-03-01T10:30:00.5+02:00"
                    - id: ASIAIOSFODNN7EXAMPL3
                      secretFile: session.secret
                      sessionTokenFile: session.token
            """);

        var snapshot = Load(configMap, secret);

        var session = snapshot.AccessKeys["ASIAIOSFODNN7EXAMPLE"];
        Assert.True(session.IsTemporary);
        Assert.Same(snapshot.IamRoles["DeviceRole"], session.Owner);
        Assert.Equal("je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY", session.Secret);
        Assert.Equal("FwoGZXIvYXdzEXAMPLE//////////wEaDEXAMPLETOKEN==", session.SessionToken);
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 8, 30, 0, TimeSpan.Zero), session.Expiration);
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 8, 30, 0, 500, TimeSpan.Zero), snapshot.AccessKeys["ASIAIOSFODNN7EXAMPL2"].Expiration);
        Assert.Null(snapshot.AccessKeys["ASIAIOSFODNN7EXAMPL3"].Expiration);
        Assert.DoesNotContain("EXAMPLETOKEN", session.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("je7MtGbClwBF", session.ToString(), StringComparison.Ordinal);
        var longTerm = snapshot.AccessKeys["AKIAIOSFODNN7EXAMPLE"];
        Assert.False(longTerm.IsTemporary);
        Assert.Null(longTerm.SessionToken);
    }

    [Fact]
    public void Role_sessions_are_checked_like_access_keys_and_need_their_token()
    {
        dir.Write("secret/empty.token", "\n");
        Registry("""
            iam:
              users:
                - name: alice
                  accessKeys:
                    - id: AKIAIOSFODNN7EXAMPLE
                      secretFile: alice.secret
                - name: bob
                  sessions:
                    - id: ASIAIOSFODNN7EXAMPL0
              roles:
                - name: DeviceRole
                  sessions:
                    - id: ASIAIOSFODNN7EXAMPL1
                      secretFile: session.secret
                    - id: ASIAIOSFODNN7EXAMPL2
                      secretFile: session.secret
                      sessionTokenFile: empty.token
                    - id: ASIAIOSFODNN7EXAMPL3
                      secretFile: session.secret
                      sessionTokenFile: session.token
                      expiration: 2026-03-01 08:30
                    - id: ASIAIOSFODNN7EXAMPL4
                      secretFile: session.secret
                      sessionTokenFile: session.token
                      expiration: 2026-03-01T08:30:00
                    - id: AKIAIOSFODNN7EXAMPLE
                      secretFile: session.secret
                      sessionTokenFile: session.token
                    - id: ASIAIOSFODNN7EXAMPL5
                      sessionTokenFile: session.token
                      token: inline
            """);

        var errors = Refuse(configMap, secret);

        Assert.True(errors.Count == 7, string.Join("\n", errors));
        Has(errors, File, 10, "unknown key 'sessions' in an IAM user", column: 7);
        Has(errors, File, 15, "a role session needs 'sessionTokenFile' naming a file from a mounted Secret (the SessionToken AssumeRole returned)", column: 11);
        Has(errors, File, 17, $"the session token file {dir["secret/empty.token"]} is empty", column: 11);
        Has(errors, File, 23, "expiration '2026-03-01 08:30' must be a time with its zone, like 2026-01-01T00:00:00Z", column: 23);
        Has(errors, File, 27, "expiration '2026-03-01T08:30:00' must be a time with its zone", column: 23);
        Has(errors, File, 28, "access key 'AKIAIOSFODNN7EXAMPLE' is declared twice", column: 11);
        Has(errors, File, 33, "unknown key 'token' in a role session (expected id, secretFile, sessionTokenFile, expiration)", column: 11);
    }
}
