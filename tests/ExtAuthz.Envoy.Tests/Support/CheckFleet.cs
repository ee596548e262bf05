using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ExtAuthz.Identity.Tests.Support;
using ExtAuthz.Registry;

namespace ExtAuthz.Envoy.Tests.Support;

/// <summary>
/// A small fleet written as a configuration directory and loaded by the real loader: a CA that
/// auto-registers what it signs, <c>sensor-1</c> (ACTIVE, attached exclusively to the thing sensor-1),
/// a REVOKED certificate, and a self-signed stranger. The device policy allows a device (by its
/// certificate's common name: thing variables need an MQTT client ID, which HTTP has not) its own topics
/// and shadow, denies <c>sensors/*/secret</c>, and allows retained publishes on its status topic only;
/// <c>ShadowPolicy</c> (shadow mode) would deny <c>sensors/*/debug</c>.
/// </summary>
internal sealed class CheckFleet : IDisposable
{
    public const string Account = "123456789012";
    public const string Region = "us-east-1";
    public const string Arn = $"arn:aws:iot:{Region}:{Account}:";

    private const string DevicePolicy = """
        {
          "Version": "2012-10-17",
          "Statement": [
            {"Sid": "PublishOwnTopics", "Effect": "Allow", "Action": "iot:Publish",
             "Resource": "arn:aws:iot:us-east-1:123456789012:topic/sensors/${iot:Certificate.Subject.CommonName}/*"},
            {"Sid": "NoSecrets", "Effect": "Deny", "Action": "iot:Publish",
             "Resource": "arn:aws:iot:us-east-1:123456789012:topic/sensors/*/secret"},
            {"Sid": "RetainStatus", "Effect": "Allow", "Action": "iot:RetainPublish",
             "Resource": "arn:aws:iot:us-east-1:123456789012:topic/sensors/${iot:Certificate.Subject.CommonName}/status"},
            {"Sid": "OwnShadow", "Effect": "Allow", "Action": ["iot:GetThingShadow", "iot:UpdateThingShadow"],
             "Resource": "arn:aws:iot:us-east-1:123456789012:thing/${iot:Certificate.Subject.CommonName}"},
            {"Sid": "Retained", "Effect": "Allow", "Action": "iot:ListRetainedMessages", "Resource": "*"},
            {"Sid": "FirmwareJobs", "Effect": "Allow", "Action": "iotjobsdata:DescribeJobExecution",
             "Resource": "arn:aws:iot:us-east-1:123456789012:thing/${iot:Certificate.Subject.CommonName}",
             "Condition": {"StringLike": {"iot:JobId": "firmware-*"}}},
            {"Sid": "ThingRetained", "Effect": "Allow", "Action": "iot:GetRetainedMessage",
             "Resource": "arn:aws:iot:us-east-1:123456789012:topic/things/${iot:Connection.Thing.ThingName}/*"}
          ]
        }
        """;

    private const string ShadowPolicy = """
        {"Version": "2012-10-17", "Statement": [{"Sid": "NoDebug", "Effect": "Deny", "Action": "iot:Publish",
         "Resource": "arn:aws:iot:us-east-1:123456789012:topic/sensors/*/debug"}]}
        """;

    /// <summary>The operator's IAM access key (its secret is in <see cref="OperatorSecret"/>).</summary>
    public const string OperatorKeyId = "AKIDEXAMPLEOPERATOR1";

    public const string OperatorSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    public const string PoolId = "us-east-1:1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d";

    public const string CognitoIssuer = "https://cognito-identity.amazonaws.com";

    /// <summary>A federated OIDC issuer whose tokens for subjects <c>app-*</c> become <c>AppAuthenticatedRole</c>.</summary>
    public const string OidcIssuer = "https://token.example.com/realms/fleet";

    /// <summary>IAM policy of the operator (user) and the Cognito roles: data-plane reads, and the control plane's thing operations.</summary>
    private const string OperatorPolicy = """
        {"Version": "2012-10-17", "Statement": [
          {"Effect": "Allow", "Action": ["iot:CreateThing", "iot:DescribeThing", "iot:ListThings", "iot:GetThingShadow"], "Resource": "*"},
          {"Effect": "Allow", "Action": "iot:AttachPolicy", "Resource": "arn:aws:iot:us-east-1:123456789012:thinggroup/*"},
          {"Effect": "Deny", "Action": "iot:DeleteThing", "Resource": "*"}]}
        """;

    private const string AppRolePolicy = """
        {"Version": "2012-10-17", "Statement": [
          {"Effect": "Allow", "Action": ["iot:Connect", "iot:Publish"], "Resource": "*"}]}
        """;

    private const string AppIotPolicy = """
        {"Version": "2012-10-17", "Statement": [
          {"Effect": "Allow", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/apps/${cognito-identity.amazonaws.com:sub}/*"},
          {"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}]}
        """;

    private readonly string directory = System.IO.Directory.CreateTempSubdirectory("extauthz-envoy-").FullName;

    public CheckFleet()
    {
        Ca = Pki.Ca("CN=Fleet CA,O=ExtAuthz");
        Sensor1 = Pki.Device("CN=sensor-1,O=ExtAuthz", Ca);
        Revoked = Pki.Device("CN=old-sensor,O=ExtAuthz", Ca);
        AutoRegistered = Pki.Device("CN=new-sensor,O=ExtAuthz", Ca);
        Stranger = Pki.Device("CN=stranger");
        Write("ca.pem", Pki.Pem(Ca));
        Write("sensor-1.pem", Pki.Pem(Sensor1));
        Write("revoked.pem", Pki.Pem(Revoked));
        Write("DevicePolicy.json", DevicePolicy);
        Write("operator.secret", OperatorSecret);
        Write("OperatorAccess.json", OperatorPolicy);
        Write("AppRole.json", AppRolePolicy);
        Write("AppIotPolicy.json", AppIotPolicy);
        Write("jwks.json", $$"""{"keys": [{"kty": "RSA", "kid": "pool-key-1", "use": "sig", "alg": "RS256", "n": "{{Base64Url(TokenKey.ExportParameters(false).Modulus!)}}", "e": "{{Base64Url(TokenKey.ExportParameters(false).Exponent!)}}"}]}""");
        Write("ShadowPolicy.json", ShadowPolicy);
        Write("registry.yaml", $$"""
            account: "{{Account}}"
            region: {{Region}}
            policies:
              - name: DevicePolicy
                file: DevicePolicy.json
              - name: ShadowPolicy
                file: ShadowPolicy.json
                shadow: true
              - name: AppIotPolicy
                file: AppIotPolicy.json
            caCertificates:
              - name: fleet-ca
                pemFile: ca.pem
                status: ACTIVE
                autoRegistration: true
                autoRegisteredStatus: ACTIVE
                policies: [DevicePolicy]
            certificates:
              - name: sensor-1
                pemFile: sensor-1.pem
                status: ACTIVE
                policies: [DevicePolicy, ShadowPolicy]
              - name: old-sensor
                pemFile: revoked.pem
                status: REVOKED
                policies: [DevicePolicy]
            things:
              - name: sensor-1
                principals:
                  - certificate: sensor-1
                    exclusive: true
            policyAttachments:
              - policy: AppIotPolicy
                cognitoIdentity: {{AppIdentity}}
            iam:
              policies:
                - name: OperatorAccess
                  file: OperatorAccess.json
                - name: AppRole
                  file: AppRole.json
              users:
                - name: operator
                  policies: [OperatorAccess]
                  accessKeys:
                    - id: {{OperatorKeyId}}
                      secretFile: operator.secret
              openIdConnectProviders:
                - url: {{OidcIssuer}}
                  clientIds: [fleet-app]
                  jwksFile: jwks.json
              roles:
                - name: AppAuthenticatedRole
                  policies: [AppRole]
                  webIdentity:
                    - provider: {{OidcIssuer}}
                      condition:
                        StringLike:
                          token.example.com/realms/fleet:sub: app-*
                - name: AppUnauthenticatedRole
                  policies: [OperatorAccess]
            cognito:
              identityPools:
                - id: {{PoolId}}
                  authenticatedRole: AppAuthenticatedRole
                  unauthenticatedRole: AppUnauthenticatedRole
                  issuer: {{CognitoIssuer}}
                  jwksFile: jwks.json
            """);
        Snapshot = RegistryLoader.Load([directory], 1);
    }

    /// <summary>A Cognito identity of the pool, with AppIotPolicy attached.</summary>
    public const string AppIdentity = "us-east-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

    /// <summary>The key the pool's tokens are signed with (its public half is the pool's JWKS file).</summary>
    public RSA TokenKey { get; } = RSA.Create(2048);

    public X509Certificate2 Ca { get; }

    public X509Certificate2 Sensor1 { get; }

    public X509Certificate2 Revoked { get; }

    /// <summary>Signed by the CA, not listed: registers itself (ACTIVE), with no thing.</summary>
    public X509Certificate2 AutoRegistered { get; }

    /// <summary>Self-signed and unknown.</summary>
    public X509Certificate2 Stranger { get; }

    public RegistrySnapshot Snapshot { get; }

    public string Directory => directory;

    public static string Id(X509Certificate2 certificate) => Pki.Id(certificate);

    /// <summary>A Cognito Identity token for <paramref name="identityId"/>, as the pool would issue it.</summary>
    public string CognitoToken(string identityId = AppIdentity, bool authenticated = true, DateTimeOffset? expires = null) =>
        Token(CognitoIssuer, PoolId, identityId, authenticated, expires);

    /// <summary>A token of the federated issuer, for the <c>fleet-app</c> client.</summary>
    public string OidcToken(string subject) => Token(OidcIssuer, "fleet-app", subject, authenticated: true, expires: null);

    private string Token(string issuer, string audience, string identityId, bool authenticated, DateTimeOffset? expires)
    {
        var now = DateTimeOffset.UtcNow;
        var descriptor = new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = now.AddMinutes(-1).UtcDateTime,
            NotBefore = now.AddMinutes(-1).UtcDateTime,
            Expires = (expires ?? now.AddMinutes(10)).UtcDateTime,
            Claims = new Dictionary<string, object>
            {
                ["sub"] = identityId,
                ["amr"] = new[] { authenticated ? "authenticated" : "unauthenticated", "cognito-identity.amazonaws.com" },
            },
            SigningCredentials = new Microsoft.IdentityModel.Tokens.SigningCredentials(
                new Microsoft.IdentityModel.Tokens.RsaSecurityKey(TokenKey) { KeyId = "pool-key-1" }, "RS256"),
        };
        return new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    public void Dispose()
    {
        TokenKey.Dispose();
        System.IO.Directory.Delete(directory, recursive: true);
    }

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    private void Write(string name, string text) => File.WriteAllText(Path.Combine(directory, name), text);
}
