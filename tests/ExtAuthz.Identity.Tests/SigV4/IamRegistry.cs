using ExtAuthz.Registry;

namespace ExtAuthz.Identity.Tests.SigV4;

/// <summary>
/// A registry directory with IAM principals that sign requests: user alice with a long-term access key,
/// and role DeviceRole with a session (temporary credentials), each allowed iot:Publish.
/// </summary>
internal sealed class IamRegistry : IDisposable
{
    public const string UserKey = "AKIAIOSFODNN7EXAMPLE";
    public const string UserSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    public const string SessionKey = "ASIAIOSFODNN7EXAMPLE";
    public const string SessionSecret = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY";
    public const string SessionToken = "FwoGZXIvYXdzEXAMPLE//////////wEaDEXAMPLETOKEN+Zm9vYmFyYmF6cXV4/c2Vzc2lvbg==";

    private readonly string directory = Directory.CreateTempSubdirectory("extauthz-sigv4-").FullName;

    public IamRegistry(string region = "us-east-1", string sessionExpiration = "2030-01-01T00:00:00Z")
    {
        File.WriteAllText(Path.Combine(directory, "alice.secret"), UserSecret + "\n");
        File.WriteAllText(Path.Combine(directory, "device.secret"), SessionSecret + "\n");
        File.WriteAllText(Path.Combine(directory, "device.token"), SessionToken + "\n");
        File.WriteAllText(Path.Combine(directory, "registry.yaml"), $$"""
            account: "123456789012"
            region: {{region}}
            iam:
              policies:
                - name: Publish
                  document: '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Publish", "Resource": "*"}]}'
              users:
                - name: alice
                  policies: [Publish]
                  accessKeys:
                    - id: {{UserKey}}
                      secretFile: alice.secret
              roles:
                - name: DeviceRole
                  policies: [Publish]
                  sessions:
                    - id: {{SessionKey}}
                      secretFile: device.secret
                      sessionTokenFile: device.token
                      expiration: {{sessionExpiration}}
            """);
        Snapshot = RegistryLoader.Load([directory]);
    }

    public RegistrySnapshot Snapshot { get; }

    public static SdkSigner User => new() { AccessKeyId = UserKey, Secret = UserSecret };

    public static SdkSigner Session => new() { AccessKeyId = SessionKey, Secret = SessionSecret, SessionToken = SessionToken };

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
