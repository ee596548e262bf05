using System.Security.Cryptography.X509Certificates;
using ExtAuthz.Identity.Tests.Support;
using ExtAuthz.Registry;

namespace ExtAuthz.Mqtt.Tests.Gate;

/// <summary>
/// A fleet written as a configuration directory and served through a <see cref="RegistrySource"/>
/// (watched, reloaded), as <c>serve --config</c> does: a CA that auto-registers what it signs,
/// <c>sensor-1</c> and <c>sensor-2</c> (ACTIVE, each attached to its thing), a REVOKED certificate, and a
/// self-signed stranger. The device policy allows a device to connect as its thing, publish under
/// <c>devices/{thing}/</c> and <c>a/</c> (but never to <c>.../secret</c>), retain only its status, subscribe
/// to its own topics and to <c>a/</c>, and receive anything but <c>a/restricted/</c> (the AWS guide's fix
/// for the <c>a/#</c> pitfall: the filter is allowed, the receive is not).
/// </summary>
internal sealed class GateFleet : IAsyncDisposable
{
    public const string Arn = "arn:aws:iot:us-east-1:123456789012:";

    /// <summary>A Cognito identity pool whose unauthenticated identities get GuestRole (connect as guest-*, publish to guests/).</summary>
    public const string GuestPool = "us-east-1:00000000-0000-4000-8000-000000000001";

    private const string DevicePolicy = """
        {
          "Version": "2012-10-17",
          "Statement": [
            {"Sid": "ConnectAsThing", "Effect": "Allow", "Action": "iot:Connect",
             "Resource": "arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"},
            {"Sid": "PublishOwn", "Effect": "Allow", "Action": "iot:Publish",
             "Resource": ["arn:aws:iot:us-east-1:123456789012:topic/devices/${iot:Connection.Thing.ThingName}/*",
                          "arn:aws:iot:us-east-1:123456789012:topic/a/*"]},
            {"Sid": "NoSecrets", "Effect": "Deny", "Action": "iot:Publish",
             "Resource": "arn:aws:iot:us-east-1:123456789012:topic/devices/*/secret"},
            {"Sid": "RetainStatus", "Effect": "Allow", "Action": "iot:RetainPublish",
             "Resource": "arn:aws:iot:us-east-1:123456789012:topic/devices/${iot:Connection.Thing.ThingName}/status"},
            {"Sid": "SubscribeOwnAndA", "Effect": "Allow", "Action": "iot:Subscribe",
             "Resource": ["arn:aws:iot:us-east-1:123456789012:topicfilter/devices/${iot:Connection.Thing.ThingName}/*",
                          "arn:aws:iot:us-east-1:123456789012:topicfilter/a/*"]},
            {"Sid": "ReceiveAllButRestricted", "Effect": "Allow", "Action": "iot:Receive",
             "NotResource": "arn:aws:iot:us-east-1:123456789012:topic/a/restricted/*"}
          ]
        }
        """;

    private const string AutoPolicy = """
        {"Version": "2012-10-17", "Statement": [
          {"Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:iot:us-east-1:123456789012:client/${iot:Certificate.Subject.CommonName}"},
          {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": "arn:aws:iot:us-east-1:123456789012:topic/auto/*"},
          {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/auto/*"}]}
        """;

    private readonly string directory = Directory.CreateTempSubdirectory("extauthz-gate-").FullName;

    public GateFleet()
    {
        Ca = Pki.Ca("CN=Gate Fleet CA,O=ExtAuthz");
        Sensor1 = Pki.Device("CN=sensor-1,O=ExtAuthz", Ca);
        Sensor2 = Pki.Device("CN=sensor-2,O=ExtAuthz", Ca);
        Revoked = Pki.Device("CN=old-sensor,O=ExtAuthz", Ca);
        AutoRegistered = Pki.Device("CN=auto-1,O=ExtAuthz", Ca);
        Stranger = Pki.Device("CN=stranger");
        Write("ca.pem", Pki.Pem(Ca));
        Write("sensor-1.pem", Pki.Pem(Sensor1));
        Write("sensor-2.pem", Pki.Pem(Sensor2));
        Write("revoked.pem", Pki.Pem(Revoked));
        Write("DevicePolicy.json", DevicePolicy);
        Write("AutoPolicy.json", AutoPolicy);
        WriteRegistry(sensor1Status: "ACTIVE");
        Source = new RegistrySource([directory], new RegistrySourceOptions
        {
            Debounce = TimeSpan.FromMilliseconds(50),
            MaxDebounce = TimeSpan.FromMilliseconds(200),
            PollInterval = TimeSpan.FromMilliseconds(250),
        });
        Source.Start();
    }

    public X509Certificate2 Ca { get; }

    public X509Certificate2 Sensor1 { get; }

    public X509Certificate2 Sensor2 { get; }

    public X509Certificate2 Revoked { get; }

    /// <summary>Signed by the CA, not listed: auto-registered ACTIVE with AutoPolicy (connect as its common name, topics under auto/).</summary>
    public X509Certificate2 AutoRegistered { get; }

    public X509Certificate2 Stranger { get; }

    public RegistrySource Source { get; }

    public RegistrySnapshot Snapshot => Source.Current!;

    /// <summary>Rewrites the registry with sensor-1's certificate in <paramref name="sensor1Status"/>; the source reloads it within moments.</summary>
    public void WriteRegistry(string sensor1Status) => Write("registry.yaml", $$"""
        account: "123456789012"
        region: us-east-1
        policies:
          - name: DevicePolicy
            file: DevicePolicy.json
          - name: AutoPolicy
            file: AutoPolicy.json
        caCertificates:
          - name: fleet-ca
            pemFile: ca.pem
            status: ACTIVE
            autoRegistration: true
            autoRegisteredStatus: ACTIVE
            policies: [AutoPolicy]
        certificates:
          - name: sensor-1
            pemFile: sensor-1.pem
            status: {{sensor1Status}}
            policies: [DevicePolicy]
          - name: sensor-2
            pemFile: sensor-2.pem
            status: ACTIVE
            policies: [DevicePolicy]
          - name: old-sensor
            pemFile: revoked.pem
            status: REVOKED
            policies: [DevicePolicy]
        things:
          - name: sensor-1
            principals:
              - certificate: sensor-1
          - name: sensor-2
            principals:
              - certificate: sensor-2
        iam:
          users:
            - name: alice
              inlinePolicies:
                - name: AliceMqtt
                  document: '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:iot:us-east-1:123456789012:client/alice-*"}, {"Effect": "Allow", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/users/alice/*"}]}'
          roles:
            - name: GuestRole
              inlinePolicies:
                - name: GuestMqtt
                  document: '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["iot:Connect", "iot:Publish"], "Resource": ["arn:aws:iot:us-east-1:123456789012:client/guest-*", "arn:aws:iot:us-east-1:123456789012:topic/guests/*"]}]}'
        cognito:
          identityPools:
            - id: {{GuestPool}}
              unauthenticatedRole: GuestRole
        """);

    public async ValueTask DisposeAsync()
    {
        await Source.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    private void Write(string name, string text)
    {
        // Write and rename, as the kubelet swaps files: the watcher never sees half a file.
        var path = Path.Combine(directory, name);
        var temporary = Path.Combine(directory, "." + name + ".tmp");
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }
}
