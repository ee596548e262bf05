using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ExtAuthz.Benchmarks;

/// <summary>
/// Configuration directories for the registry benchmarks, generated under the temp folder and reused
/// across runs (a marker file records that a directory is complete). Certificates are real ECDSA P-256
/// certificates signed by one CA; to keep generation fast they share one device key pair, which the
/// loader does not look at.
/// </summary>
public static class RegistryCorpus
{
    public const string Account = "123456789012";
    public const string Region = "us-east-1";
    private const int BundleSize = 10_000;

    public static string Root => Path.Combine(Path.GetTempPath(), "extauthz-bench-registry");

    /// <summary>A directory of <paramref name="policies"/> policy files and <paramref name="certificates"/> certificates
    /// (in bundles of 10,000, each bundle attaching one policy), with a thing attached to every tenth certificate.</summary>
    public static string Fleet(int policies, int certificates)
    {
        var directory = Path.Combine(Root, $"fleet-{policies}-{certificates}");
        var marker = Path.Combine(directory, ".complete");
        if (File.Exists(marker))
        {
            return directory;
        }

        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        Directory.CreateDirectory(directory);
        for (var i = 0; i < policies; i++)
        {
            File.WriteAllText(Path.Combine(directory, $"Policy{i:D5}.json"), PolicyText(i));
        }

        var yaml = new StringBuilder($"account: \"{Account}\"\nregion: {Region}\n");
        if (certificates > 0)
        {
            var ids = WriteCertificates(directory, certificates);
            yaml.Append("caCertificates:\n  - pemFile: ca.pem\n");
            yaml.Append("certificates:\n");
            for (var bundle = 0; bundle * BundleSize < certificates; bundle++)
            {
                var policy = policies > 0 ? $"\n    policies: [Policy{bundle % policies:D5}]" : "";
                yaml.Append(CultureInfo.InvariantCulture, $"  - pemFile: fleet-{bundle:D2}.pem{policy}\n");
            }

            yaml.Append("thingGroups:\n  - name: fleet\n");
            yaml.Append("things:\n");
            for (var i = 0; i < ids.Count; i += 10)
            {
                yaml.Append(CultureInfo.InvariantCulture, $"  - name: device-{i:D6}\n    type: sensor\n    attributes: {{building: \"{i % 50}\"}}\n    groups: [fleet]\n    principals:\n      - certificate: {ids[i]}\n");
            }
        }

        File.WriteAllText(Path.Combine(directory, "registry.yaml"), yaml.ToString());
        File.WriteAllText(marker, DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
        return directory;
    }

    /// <summary>A realistic device policy, distinct per index: connect as the attached thing, own topics, own shadow.</summary>
    public static string PolicyText(int index) => $$$"""
        {
          "Version": "2012-10-17",
          "Statement": [
            {"Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:iot:{{{Region}}}:{{{Account}}}:client/${iot:Connection.Thing.ThingName}",
             "Condition": {"Bool": {"iot:Connection.Thing.IsAttached": "true"} } },
            {"Effect": "Allow", "Action": "iot:Publish", "Resource": ["arn:aws:iot:{{{Region}}}:{{{Account}}}:topic/site-{{{index}}}/${iot:ClientId}/telemetry",
                                                                     "arn:aws:iot:{{{Region}}}:{{{Account}}}:topic/site-{{{index}}}/${iot:ClientId}/events/*"]},
            {"Effect": "Allow", "Action": ["iot:Subscribe"], "Resource": "arn:aws:iot:{{{Region}}}:{{{Account}}}:topicfilter/site-{{{index}}}/${iot:ClientId}/commands/*"},
            {"Effect": "Allow", "Action": ["iot:Receive"], "Resource": "arn:aws:iot:{{{Region}}}:{{{Account}}}:topic/site-{{{index}}}/${iot:ClientId}/commands/*"},
            {"Effect": "Deny", "Action": "iot:Publish", "Resource": "arn:aws:iot:{{{Region}}}:{{{Account}}}:topic/site-{{{index}}}/admin/*"}
          ]
        }
        """;

    private static List<string> WriteCertificates(string directory, int count)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Bench Fleet CA, O=ExtAuthz Bench", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var notBefore = DateTimeOffset.UtcNow.AddDays(-1);
        using var ca = caRequest.CreateSelfSigned(notBefore, notBefore.AddYears(10));
        File.WriteAllText(Path.Combine(directory, "ca.pem"), ca.ExportCertificatePem() + "\n");

        using var deviceKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var ids = new string[count];
        var bundles = (count + BundleSize - 1) / BundleSize;
        Parallel.For(0, bundles, bundle =>
        {
            var pem = new StringBuilder();
            for (var i = bundle * BundleSize; i < Math.Min(count, (bundle + 1) * BundleSize); i++)
            {
                var request = new CertificateRequest($"CN=device-{i:D6}, O=ExtAuthz Bench", deviceKey, HashAlgorithmName.SHA256);
                var serial = new byte[5];
                serial[0] = 0x01; // positive and unique: 0x01 followed by the index, big-endian
                System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(serial.AsSpan(1), i);
                using var certificate = request.Create(ca, notBefore, notBefore.AddYears(2), serial);
                ids[i] = Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));
                pem.Append(certificate.ExportCertificatePem()).Append('\n');
            }

            File.WriteAllText(Path.Combine(directory, $"fleet-{bundle:D2}.pem"), pem.ToString());
        });
        return [.. ids];
    }
}
