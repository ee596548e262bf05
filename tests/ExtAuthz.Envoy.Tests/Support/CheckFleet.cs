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
            """);
        Snapshot = RegistryLoader.Load([directory], 1);
    }

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

    public void Dispose() => System.IO.Directory.Delete(directory, recursive: true);

    private void Write(string name, string text) => File.WriteAllText(Path.Combine(directory, name), text);
}
