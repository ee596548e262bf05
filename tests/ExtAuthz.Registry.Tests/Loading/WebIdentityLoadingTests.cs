using ExtAuthz.Policy;
using ExtAuthz.Registry.Tests.Support;
using static ExtAuthz.Registry.Tests.Loading.LoadingTestKit;

namespace ExtAuthz.Registry.Tests.Loading;

/// <summary>IAM OpenID Connect providers and the roles' webIdentity trust statements (AssumeRoleWithWebIdentity's trust policy).</summary>
public sealed class WebIdentityLoadingTests : IDisposable
{
    private const string Issuer = "https://idp.example.com/realms/fleet";

    private readonly TempConfigDirectory dir = new();

    public void Dispose() => dir.Dispose();

    private void Registry(string yaml) => dir.Write("registry.yaml", Header + yaml);

    private string File => dir["registry.yaml"];

    private static RequestContext Claims(string sub, string aud = "fleet-app") =>
        new RequestContext().Set("idp.example.com/realms/fleet:sub", sub).Set("idp.example.com/realms/fleet:aud", aud);

    [Fact]
    public void Providers_and_trusts_are_loaded_with_their_conditions_compiled()
    {
        dir.Write("idp-jwks.json", """{"keys": []}""");
        Registry($"""
            iam:
              openIdConnectProviders:
                - url: {Issuer}
                  clientIds: [fleet-app, console, fleet-app]
                  jwksFile: idp-jwks.json
                - url: https://accounts.example.org/
                  clientIds: web
                  jwksUrl: https://accounts.example.org/keys
              roles:
                - name: SensorRole
                  webIdentity:
                    - provider: {Issuer}
                      condition:
                        StringLike:
                          idp.example.com/realms/fleet:sub: [sensor-*, probe-*]
                        StringEquals:
                          idp.example.com/realms/fleet:aud: fleet-app
                    - provider: https://accounts.example.org/
                - name: Plain
            """);

        var snapshot = Load(dir);

        var provider = snapshot.OidcProviders[Issuer];
        Assert.Equal("arn:aws:iam::123456789012:oidc-provider/idp.example.com/realms/fleet", provider.Arn);
        Assert.Equal("idp.example.com/realms/fleet", provider.KeyPrefix);
        Assert.Equal(["fleet-app", "console"], provider.ClientIds);
        Assert.Equal("""{"keys": []}""", provider.JwksJson);
        Assert.Null(provider.JwksUrl);
        var other = snapshot.OidcProviders["https://accounts.example.org/"];
        Assert.Equal("accounts.example.org", other.KeyPrefix);
        Assert.Equal("https://accounts.example.org/keys", other.JwksUrl);

        var trust = Assert.Single(snapshot.WebIdentityTrusts[Issuer]);
        Assert.Same(snapshot.IamRoles["SensorRole"], trust.Role);
        Assert.Same(provider, trust.Provider);
        Assert.True(trust.Admits(Claims("probe-3")));
        Assert.False(trust.Admits(Claims("probe-3", aud: "console")));
        Assert.False(trust.Admits(Claims("operator")));
        Assert.True(Assert.Single(snapshot.WebIdentityTrusts["https://accounts.example.org/"]).Admits(new RequestContext()));
    }

    [Fact]
    public void A_JWKS_file_named_by_a_provider_is_not_an_iot_policy()
    {
        dir.Write("idp-jwks.json", """{"keys": []}""");
        Registry($"""
            iam:
              openIdConnectProviders:
                - url: {Issuer}
                  clientIds: fleet-app
                  jwksFile: idp-jwks.json
            """);

        Assert.Empty(Load(dir).Policies);
    }

    [Fact]
    public void Provider_rules_are_enforced()
    {
        dir.Write("keys.json", """{"keys": []}""");
        Registry($"""
            iam:
              openIdConnectProviders:
                - url: http://idp.example.com
                  clientIds: app
                - url: https://idp.example.com?tenant=1
                  clientIds: app
                - url: {Issuer}
                - url: {Issuer}
                  clientIds: app
                  jwksFile: keys.json
                  jwksUrl: https://idp.example.com/keys
                - url: {Issuer}
                  clientIds: app
                  jwksUrl: http://idp.example.com/keys
                - url: {Issuer}
                  clientIds: app
                - url: {Issuer}
                  clientIds: app
                  Audience: x
                - url: https://second.example.com
                  clientIds: app
                  jwksUrl: http://localhost:8080/keys
                - url: https://second.example.com
                  clientIds: other
            """);

        var errors = Refuse(dir);

        Assert.Equal(7, errors.Count);
        Has(errors, File, 5, "OpenID Connect provider URL 'http://idp.example.com' must be https://host[/path]", column: 12);
        Has(errors, File, 7, "OpenID Connect provider URL 'https://idp.example.com?tenant=1' must be https://host[/path]", column: 12);
        Has(errors, File, 9, $"OpenID Connect provider '{Issuer}' needs 'clientIds': the audiences (aud) its tokens may carry", column: 7);
        Has(errors, File, 10, $"OpenID Connect provider '{Issuer}' names both 'jwksFile' and 'jwksUrl'", column: 7);
        Has(errors, File, 16, "jwksUrl 'http://idp.example.com/keys' must be an https URL (plain http only to a loopback address)", column: 16);
        Has(errors, File, 21, "unknown key 'Audience' in an OpenID Connect provider (expected url, clientIds, jwksFile, jwksUrl)", column: 7);
        Has(errors, File, 25, "OpenID Connect provider 'https://second.example.com' is declared twice", column: 7);
    }

    [Fact]
    public void Trust_rules_are_enforced_where_they_are_broken()
    {
        Registry($"""
            iam:
              openIdConnectProviders:
                - url: {Issuer}
                  clientIds: fleet-app
              roles:
                - name: A
                  webIdentity:
                    - provider: https://unknown.example.com
                    - provider: {Issuer}
                      condition:
                        StringEquals:
                          idp.example.com/realms/fleet:email: someone@example.com
                    - provider: {Issuer}
                      condition:
                        StringSortOf:
                          idp.example.com/realms/fleet:sub: x
                    - provider: {Issuer}
                      condition:
                        StringEquals: sensor
                    - provider: {Issuer}
                      condition: [StringEquals]
                    - provider: {Issuer}
                      subject: x
                - name: B
                  webIdentity: {Issuer}
            """);

        var errors = Refuse(dir);

        Assert.Equal(7, errors.Count);
        Has(errors, File, 10, "OpenID Connect provider 'https://unknown.example.com' is not defined under iam.openIdConnectProviders", column: 21);
        Has(errors, File, 14, "condition key 'idp.example.com/realms/fleet:email' is not one a web identity has; use idp.example.com/realms/fleet:sub, idp.example.com/realms/fleet:aud, idp.example.com/realms/fleet:amr, aws:SourceIp", column: 15);
        Has(errors, File, 17, "the trust condition of role 'A':", column: 13);
        Has(errors, File, 21, "condition operator 'StringEquals' must map condition keys to values", column: 27);
        Has(errors, File, 23, "'condition' must be a mapping of condition operators", column: 22);
        Has(errors, File, 25, "unknown key 'subject' in a web identity trust (expected provider, condition)", column: 11);
        Has(errors, File, 27, "webIdentity must be a list", column: 20);
    }

    [Fact]
    public void A_role_refused_for_itself_gets_no_second_error_for_its_trust()
    {
        Registry($"""
            iam:
              roles:
                - name: A
                  groups: [g]
                  webIdentity:
                    - provider: https://unknown.example.com
            """);

        var error = Assert.Single(Refuse(dir));
        AssertError(error, File, 6, "unknown key 'groups' in an IAM role");
    }
}
