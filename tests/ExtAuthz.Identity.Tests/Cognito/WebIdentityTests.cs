using ExtAuthz.Identity.Cognito;
using ExtAuthz.Policy;
using ExtAuthz.Registry;
using Microsoft.Extensions.Time.Testing;
using static ExtAuthz.Identity.Tests.Cognito.TokenKit;

namespace ExtAuthz.Identity.Tests.Cognito;

/// <summary>
/// Tokens of an IAM OpenID Connect provider: the principal is the one IAM role whose webIdentity trust
/// admits the token's claims, as AssumeRoleWithWebIdentity would make it.
/// </summary>
public sealed class WebIdentityTests : IDisposable
{
    private const string Issuer = "https://idp.example.com/realms/fleet";
    private const string Prefix = "idp.example.com/realms/fleet";
    private static readonly ConnectionFacts Facts = new() { SourceIp = "10.1.2.3" };

    private readonly CognitoRegistry registry = new();
    private readonly FakeTimeProvider time = new(Now);
    private static readonly TestKey Key = TestKey.Rsa("idp-1");
    private readonly CognitoTokenVerifier verifier;

    public WebIdentityTests()
    {
        verifier = new CognitoTokenVerifier(time: time);
    }

    public void Dispose()
    {
        verifier.Dispose();
        registry.Dispose();
    }

    /// <summary>Sensors (subjects sensor-*) get SensorRole; the operator gets OperatorRole, with MFA and from the plant network only.</summary>
    private RegistrySnapshot Load(string extraRole = "") => registry.File("idp-jwks.json", Jwks(Key)).Load($$"""
        iam:
          openIdConnectProviders:
            - url: {{Issuer}}
              clientIds: [fleet-app, console]
              jwksFile: idp-jwks.json
          roles:
            - name: SensorRole
              inlinePolicies:
                - name: Telemetry
                  document: |
                    {{Document(Allow("iot:Publish", Arn + "topic/sensors/*"))}}
              webIdentity:
                - provider: {{Issuer}}
                  condition:
                    StringLike:
                      {{Prefix}}:sub: sensor-*
                    StringEquals:
                      {{Prefix}}:aud: fleet-app
            - name: OperatorRole
              inlinePolicies:
                - name: Everything
                  document: |
                    {{Document(Allow("iot:*", "*"))}}
              webIdentity:
                - provider: {{Issuer}}
                  condition:
                    StringEquals:
                      {{Prefix}}:sub: operator
                    ForAnyValue:StringEquals:
                      {{Prefix}}:amr: [mfa, hwk]
                    IpAddress:
                      aws:SourceIp: 10.1.0.0/16
        {{extraRole}}
        """);

    private static Dictionary<string, object> Web(string subject, string audience = "fleet-app", string[]? amr = null)
    {
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Issuer,
            ["aud"] = audience,
            ["sub"] = subject,
            ["exp"] = Now.AddMinutes(30).ToUnixTimeSeconds(),
        };
        if (amr is not null)
        {
            claims["amr"] = amr;
        }

        return claims;
    }

    private static void Refused(IdentityResult result, string reason)
    {
        Assert.Equal(IdentityFailure.Unregistered, result.Failure);
        Assert.Contains(reason, result.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_token_whose_claims_a_role_trusts_becomes_that_role()
    {
        var result = verifier.Verify(Load(), Mint(Key, Web("sensor-17")), Facts);

        Assert.True(result.Succeeded, result.FailureReason);
        var subject = result.Subject!;
        Assert.Equal(PrincipalKind.IamRole, subject.Kind);
        Assert.Equal("SensorRole", subject.PrincipalId);
        Assert.Equal($"arn:aws:iam::{Account}:role/SensorRole", subject.PrincipalArn);
        Assert.Equal("sensor-17", result.CredentialId);
        Assert.Equal(DecisionKind.Allowed, subject.Decide("iot:Publish", Arn + "topic/sensors/sensor-17/temperature").Kind);
        Assert.Equal(DecisionKind.ImplicitDeny, subject.Decide("iot:Publish", Arn + "topic/control/valve").Kind);
    }

    [Fact]
    public void The_trust_conditions_see_the_amr_and_the_source_address()
    {
        var snapshot = Load();

        var withMfa = verifier.Verify(snapshot, Mint(Key, Web("operator", "console", ["pwd", "mfa"])), Facts);
        Assert.True(withMfa.Succeeded, withMfa.FailureReason);
        Assert.Equal("OperatorRole", withMfa.Subject!.PrincipalId);

        Refused(verifier.Verify(snapshot, Mint(Key, Web("operator", "console", ["pwd"])), Facts),
            $"no IAM role's trust admits subject operator of {Issuer}: the webIdentity conditions of SensorRole, OperatorRole do not hold");
        Refused(verifier.Verify(snapshot, Mint(Key, Web("operator", "console", ["mfa"])), new ConnectionFacts { SourceIp = "192.0.2.1" }),
            "no IAM role's trust admits subject operator");
    }

    [Fact]
    public void A_token_for_another_client_is_refused()
    {
        Refused(verifier.Verify(Load(), Mint(Key, Web("sensor-17", audience: "someone-else")), Facts),
            $"the token's audience someone-else is none of OpenID Connect provider {Issuer}'s client IDs");
    }

    [Fact]
    public void A_client_ID_the_trust_does_not_name_is_refused()
    {
        Refused(verifier.Verify(Load(), Mint(Key, Web("sensor-17", audience: "console")), Facts), "no IAM role's trust admits subject sensor-17");
    }

    [Fact]
    public void Two_roles_trusting_one_token_is_refused_rather_than_guessed()
    {
        var catchAll = $$"""
                - name: CatchAllRole
                  webIdentity:
                    - provider: {{Issuer}}
            """;

        Refused(verifier.Verify(Load(catchAll), Mint(Key, Web("sensor-17")), Facts),
            $"the trust of several IAM roles (SensorRole, CatchAllRole) admits subject sensor-17 of {Issuer}; their webIdentity conditions must single out one");
    }

    [Fact]
    public void A_provider_that_no_role_trusts_admits_nobody()
    {
        var snapshot = registry.File("idp-jwks.json", Jwks(Key)).Load($"""
            iam:
              openIdConnectProviders:
                - url: {Issuer}
                  clientIds: fleet-app
                  jwksFile: idp-jwks.json
            """);

        Refused(verifier.Verify(snapshot, Mint(Key, Web("sensor-17")), Facts), $"no IAM role trusts OpenID Connect provider {Issuer} (webIdentity)");
    }

    [Fact]
    public void A_provider_token_is_verified_like_any_other()
    {
        var snapshot = Load();

        Assert.Equal(IdentityFailure.Malformed, verifier.Verify(snapshot, Mint(TestKey.Rsa("idp-1"), Web("sensor-17")), Facts).Failure);
        Assert.Equal(IdentityFailure.Expired, verifier.Verify(snapshot, Mint(Key, Web("sensor-17").With("exp", Now.AddMinutes(-5).ToUnixTimeSeconds())), Facts).Failure);
        Refused(verifier.Verify(snapshot, Mint(Key, Web("sensor-17").With("iss", "https://idp.example.com/realms/other")), Facts),
            "the token's audience fleet-app is no configured identity pool, and its issuer https://idp.example.com/realms/other no configured OpenID Connect provider");
    }
}
