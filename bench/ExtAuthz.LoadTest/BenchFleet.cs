using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Envoy.Service.Auth.V3;
using ExtAuthz.Envoy.Simulation;

namespace ExtAuthz.LoadTest;

/// <summary>
/// The fleet the Check service is measured with (also compiled into ExtAuthz.Benchmarks), written into
/// a fresh temporary configuration directory: an ECDSA P-256 CA (registered, ACTIVE), <c>devices</c>
/// device certificates it signed (each with its own P-256 key, one PEM bundle registered with the device
/// policy attached), and one thing per device (<c>sensor-0000</c>…, exclusive attachment, in the thing
/// group <c>sensors</c>). Generated each time with System.Security.Cryptography so that nothing checked
/// into the repository (examples/, test PKI) is needed. The device policy has seven statements, shaped like
/// the AWS IoT guide's: it names topics by <c>${iot:Certificate.Subject.CommonName}</c>, since an HTTP
/// request has no MQTT client ID for the thing variables, and has one Deny and two conditions.
/// </summary>
internal sealed class BenchFleet : IDisposable
{
    public const string Account = "123456789012";
    public const string Region = "us-east-1";

    /// <summary>The TLS server name devices connect to (the request's SNI and authority).</summary>
    public const string Endpoint = "iot.example.com";

    private const string Arn = $"arn:aws:iot:{Region}:{Account}";

    public const string DevicePolicy = $$"""
        {
          "Version": "2012-10-17",
          "Statement": [
            {"Sid": "Connect", "Effect": "Allow", "Action": "iot:Connect",
             "Resource": "{{Arn}}:client/${iot:Connection.Thing.ThingName}",
             "Condition": {"Bool": {"iot:Connection.Thing.IsAttached": "true"} } },
            {"Sid": "PublishTelemetry", "Effect": "Allow", "Action": "iot:Publish",
             "Resource": ["{{Arn}}:topic/sensors/${iot:Certificate.Subject.CommonName}/telemetry",
                          "{{Arn}}:topic/sensors/${iot:Certificate.Subject.CommonName}/events/*"]},
            {"Sid": "SubscribeCommands", "Effect": "Allow", "Action": "iot:Subscribe",
             "Resource": "{{Arn}}:topicfilter/sensors/${iot:Certificate.Subject.CommonName}/commands/*"},
            {"Sid": "ReceiveCommands", "Effect": "Allow", "Action": "iot:Receive",
             "Resource": "{{Arn}}:topic/sensors/${iot:Certificate.Subject.CommonName}/commands/*"},
            {"Sid": "NoAdmin", "Effect": "Deny", "Action": ["iot:Publish", "iot:Subscribe"],
             "Resource": ["{{Arn}}:topic/sensors/*/admin/*", "{{Arn}}:topicfilter/sensors/*/admin/*"]},
            {"Sid": "OwnShadow", "Effect": "Allow", "Action": ["iot:GetThingShadow", "iot:UpdateThingShadow"],
             "Resource": "{{Arn}}:thing/${iot:Certificate.Subject.CommonName}"},
            {"Sid": "RetainStatus", "Effect": "Allow", "Action": ["iot:Publish", "iot:RetainPublish"],
             "Resource": "{{Arn}}:topic/sensors/${iot:Certificate.Subject.CommonName}/status",
             "Condition": {"IpAddress": {"aws:SourceIp": ["127.0.0.0/8", "10.0.0.0/8"]} } }
          ]
        }
        """;

    private readonly X509Certificate2[] devices;

    private BenchFleet(string directory, X509Certificate2[] devices)
    {
        Directory = directory;
        this.devices = devices;
    }

    /// <summary>The configuration directory (for <c>--config</c> or <c>RegistryLoader.Load</c>); deleted by <see cref="Dispose"/>.</summary>
    public string Directory { get; }

    public IReadOnlyList<X509Certificate2> Devices => devices;

    public static string DeviceName(int device) => string.Create(CultureInfo.InvariantCulture, $"sensor-{device:D4}");

    /// <summary>Writes a new fleet of <paramref name="deviceCount"/> devices into a new temporary directory.</summary>
    public static BenchFleet Create(int deviceCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(deviceCount, 2);
        var directory = System.IO.Directory.CreateTempSubdirectory("extauthz-bench-fleet-").FullName;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Bench Devices CA, O=ExtAuthz Bench", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var notBefore = DateTimeOffset.UtcNow.AddDays(-1);
        using var ca = caRequest.CreateSelfSigned(notBefore, notBefore.AddYears(5));

        var devices = new X509Certificate2[deviceCount];
        var bundle = new StringBuilder();
        var yaml = new StringBuilder($"""
            account: "{Account}"
            region: {Region}
            policies:
              - name: DevicePolicy
                file: DevicePolicy.json
            caCertificates:
              - name: devices-ca
                pemFile: ca.pem
                status: ACTIVE
            certificates:
              - pemFile: devices.pem
                status: ACTIVE
                policies: [DevicePolicy]
            thingGroups:
              - name: sensors
            things:

            """);
        for (var i = 0; i < deviceCount; i++)
        {
            using var deviceKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={DeviceName(i)}, O=ExtAuthz Bench, C=US", deviceKey, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(new OidCollection { new Oid("1.3.6.1.5.5.7.3.2") }, false));
            var serial = new byte[9];
            serial[0] = 0x01; // positive and unique: 0x01 followed by the index, big-endian
            System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(serial.AsSpan(1), i);
            devices[i] = request.Create(ca, notBefore, notBefore.AddYears(1), serial);
            bundle.Append(devices[i].ExportCertificatePem()).Append('\n');
            var id = Convert.ToHexStringLower(SHA256.HashData(devices[i].RawData));
            yaml.Append(CultureInfo.InvariantCulture,
                $"  - name: {DeviceName(i)}\n    type: temperature-sensor\n    groups: [sensors]\n    principals:\n      - certificate: {id}\n        exclusive: true\n");
        }

        File.WriteAllText(Path.Combine(directory, "ca.pem"), ca.ExportCertificatePem() + "\n");
        File.WriteAllText(Path.Combine(directory, "devices.pem"), bundle.ToString());
        File.WriteAllText(Path.Combine(directory, "DevicePolicy.json"), DevicePolicy);
        File.WriteAllText(Path.Combine(directory, "registry.yaml"), yaml.ToString());
        return new BenchFleet(directory, devices);
    }

    /// <summary>
    /// <c>POST /topics/{topic}</c> from <paramref name="device"/> over HTTP/2 on 8443, as Envoy's HTTP
    /// ext_authz filter sends it (peer certificate included, SNI; the JSON body only shows as its
    /// <c>content-length</c>, since the filter does not buffer bodies by default).
    /// </summary>
    public CheckRequest Publish(int device, string topic, string query = "?qos=1") =>
        EnvoyCheckRequest.Http("POST", $"/topics/{topic}{query}")
            .WithClientCertificate(devices[device])
            .WithSni(Endpoint)
            .WithProtocol(EnvoyHttpProtocol.Http2)
            .WithHeader("content-type", "application/json")
            .WithHeader("user-agent", "aws-sdk-cpp/1.11 iot-data")
            .WithBody("""{"temperature": 21.5, "humidity": 40, "battery": 87}""")
            .Build();

    /// <summary>A publish the device policy allows: the device's own telemetry topic.</summary>
    public CheckRequest AllowedPublish(int device) => Publish(device, $"sensors/{DeviceName(device)}/telemetry");

    /// <summary>A publish nothing allows (implicit deny): the next device's telemetry topic.</summary>
    public CheckRequest DeniedPublish(int device) => Publish(device, $"sensors/{DeviceName((device + 1) % devices.Length)}/telemetry");

    /// <summary>The device's connection to the MQTT listener (8883), as the network ext_authz filter checks it.</summary>
    public CheckRequest MqttConnection(int device) =>
        EnvoyCheckRequest.Network().WithClientCertificate(devices[device]).WithSni(Endpoint).Build();

    /// <summary>
    /// <paramref name="count"/> allowed publishes (each built separately, so each has its own stream ID and
    /// <c>x-request-id</c>, as Envoy's are), cycling over the devices and over three of each device's topics
    /// the policy allows: telemetry, an event, and a retained status (which adds <c>iot:RetainPublish</c>).
    /// </summary>
    public CheckRequest[] AllowedMix(int count)
    {
        var requests = new CheckRequest[count];
        for (var i = 0; i < count; i++)
        {
            var device = i % devices.Length;
            var name = DeviceName(device);
            requests[i] = (i / devices.Length % 3) switch
            {
                0 => Publish(device, $"sensors/{name}/telemetry"),
                1 => Publish(device, $"sensors/{name}/events/door-open"),
                _ => Publish(device, $"sensors/{name}/status", "?qos=1&retain=true"),
            };
        }

        return requests;
    }

    public void Dispose()
    {
        foreach (var device in devices)
        {
            device.Dispose();
        }

        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
