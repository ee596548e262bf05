using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ExtAuthz.Bench;

namespace ExtAuthz.MqttBench;

/// <summary>
/// The configuration the gate runs with: `extauthz dev-certs` certificates, sensor-1 attached to its thing
/// and to a policy that lets it connect with any client ID and publish, subscribe and receive under bench/.
/// Every client of the plain-TCP listener is sensor-1 (--mqtt-insecure-as).
/// </summary>
internal sealed class Fleet : IDisposable
{
    private const string Registry = """
        account: "123456789012"
        region: us-east-1
        policies:
          - name: BenchPolicy
            file: BenchPolicy.json
        caCertificates:
          - name: dev-ca
            pemFile: certs/ca.pem
            status: ACTIVE
        certificates:
          - name: sensor-1
            pemFile: certs/sensor-1.pem
            status: ACTIVE
            policies: [BenchPolicy]
        things:
          - name: sensor-1
            principals:
              - certificate: sensor-1
        """;

    private const string Policy = """
        {
          "Version": "2012-10-17",
          "Statement": [
            { "Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:iot:us-east-1:123456789012:client/bench-*" },
            { "Effect": "Allow", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/bench/*" },
            { "Effect": "Allow", "Action": "iot:Subscribe", "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/bench/*" },
            { "Effect": "Allow", "Action": "iot:Receive", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/bench/*" },
            { "Effect": "Deny", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/bench/*/firmware" }
          ]
        }
        """;

    private Fleet(string directory, string certificateId)
    {
        Directory = directory;
        CertificateId = certificateId;
    }

    public string Directory { get; }

    /// <summary>sensor-1's AWS certificate ID (lowercase hex SHA-256 of the DER).</summary>
    public string CertificateId { get; }

    public static async Task<Fleet> CreateAsync(string extauthzDll)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("extauthz-mqttbench-").FullName;
        var certs = Path.Combine(directory, "certs");
        using (var devCerts = ChildProcess.Start("dotnet", [extauthzDll, "dev-certs", certs]))
        {
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            while (!devCerts.HasExited && stopwatch.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(100).ConfigureAwait(false);
            }
        }

        var pem = Path.Combine(certs, "sensor-1.pem");
        if (!File.Exists(pem))
        {
            throw new InvalidOperationException($"extauthz dev-certs did not write {pem}");
        }

        await File.WriteAllTextAsync(Path.Combine(directory, "registry.yaml"), Registry).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(directory, "BenchPolicy.json"), Policy).ConfigureAwait(false);
        using var certificate = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(pem).ConfigureAwait(false));
        return new Fleet(directory, Convert.ToHexStringLower(SHA256.HashData(certificate.RawData)));
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
