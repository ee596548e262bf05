using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ExtAuthz.Benchmarks;

/// <summary>
/// Configuration directories for the registry benchmarks, generated under the temp folder
/// (<c>$TMPDIR/extauthz-bench-registry/</c>) and reused across runs when their manifest matches this
/// generator. Policies are distinct AWS IoT device policies of 3–8 statements; certificates are real
/// ECDSA P-256 certificates, each with its own key, signed by one CA, written as PEM bundles of 10,000
/// and registered with one <c>pemFile</c> entry per bundle (each attaching a policy); every tenth
/// certificate has a thing, in one of 10 thing groups that attach a policy too.
/// </summary>
public static class RegistryCorpus
{
    public const string Account = "123456789012";
    public const string Region = "us-east-1";
    public const int BundleSize = 10_000;
    public const int ThingEvery = 10;
    public const int GroupCount = 10;

    /// <summary>Bump when the generated content changes, so that stale directories are regenerated.</summary>
    private const int GeneratorVersion = 2;

    public static string Root => Path.Combine(Path.GetTempPath(), "extauthz-bench-registry");

    /// <summary>
    /// A directory of <paramref name="policies"/> policy files and <paramref name="certificates"/>
    /// certificates, reused when its manifest matches. Prints how long generation took.
    /// </summary>
    public static string Fleet(int policies, int certificates)
    {
        var directory = Path.Combine(Root, $"fleet-{policies}-{certificates}");
        var manifestPath = Path.Combine(directory, ".manifest");
        var expected = $"generator={GeneratorVersion} policies={policies} certificates={certificates} bundle={BundleSize} thingEvery={ThingEvery} groups={GroupCount}";
        if (File.Exists(manifestPath) && File.ReadLines(manifestPath).FirstOrDefault() == expected)
        {
            return directory;
        }

        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        Directory.CreateDirectory(directory);
        var total = Stopwatch.StartNew();
        for (var i = 0; i < policies; i++)
        {
            File.WriteAllText(Path.Combine(directory, $"Policy{i:D5}.json"), PolicyText(i));
        }

        var policySeconds = total.Elapsed.TotalSeconds;
        var yaml = new StringBuilder($"account: \"{Account}\"\nregion: {Region}\n");
        var certificateSeconds = 0.0;
        if (certificates > 0)
        {
            var split = Stopwatch.StartNew();
            var ids = WriteCertificates(directory, certificates);
            certificateSeconds = split.Elapsed.TotalSeconds;
            yaml.Append("caCertificates:\n  - pemFile: ca.pem\n");
            yaml.Append("certificates:\n");
            for (var bundle = 0; bundle * BundleSize < certificates; bundle++)
            {
                var policy = policies > 0 ? $"\n    policies: [{PolicyName(bundle % policies)}]" : "";
                yaml.Append(CultureInfo.InvariantCulture, $"  - pemFile: fleet-{bundle:D2}.pem{policy}\n");
            }

            yaml.Append("thingGroups:\n");
            for (var g = 0; g < GroupCount; g++)
            {
                var policy = policies > 0 ? $"\n    policies: [{PolicyName((policies / 2 + g) % policies)}]" : "";
                yaml.Append(CultureInfo.InvariantCulture, $"  - name: building-{g}{policy}\n");
            }

            yaml.Append("things:\n");
            for (var i = 0; i < ids.Count; i += ThingEvery)
            {
                yaml.Append(CultureInfo.InvariantCulture,
                    $"  - name: {ThingName(i)}\n    type: sensor\n    attributes: {{building: \"{i / ThingEvery % GroupCount}\", floor: \"{i % 7}\"}}\n    groups: [building-{i / ThingEvery % GroupCount}]\n    principals:\n      - certificate: {ids[i]}\n");
            }
        }

        File.WriteAllText(Path.Combine(directory, "registry.yaml"), yaml.ToString());
        var summary = string.Create(CultureInfo.InvariantCulture,
            $"generated {directory}: {policies:N0} policies in {policySeconds:F1} s, {certificates:N0} certificates in {certificateSeconds:F1} s ({Environment.ProcessorCount} cores), total {total.Elapsed.TotalSeconds:F1} s");
        File.WriteAllText(manifestPath, expected + "\n" + summary + "\n");
        Console.WriteLine("// " + summary);
        return directory;
    }

    public static string PolicyName(int index) => $"Policy{index:D5}";

    public static string ThingName(int certificate) => $"device-{certificate:D6}";

    /// <summary>
    /// A distinct device policy of 3–8 statements (3 + index mod 6): connect as the attached thing, publish
    /// and subscribe/receive on the site's own topics, then (by size) a Deny on admin topics, the thing's
    /// shadow, retained publishes with a connect-attribute condition, and a source-IP-limited jobs topic.
    /// Statement 1 always allows publishing to <c>topic/site-{index}/${iot:ClientId}/telemetry</c>.
    /// </summary>
    public static string PolicyText(int index)
    {
        var arn = $"arn:aws:iot:{Region}:{Account}";
        var site = $"site-{index}";
        string[] statements =
        [
            $$$"""{"Sid": "Connect{{{index}}}", "Effect": "Allow", "Action": "iot:Connect", "Resource": "{{{arn}}}:client/${iot:Connection.Thing.ThingName}", "Condition": {"Bool": {"iot:Connection.Thing.IsAttached": "true"} } }""",
            $$$"""{"Effect": "Allow", "Action": "iot:Publish", "Resource": ["{{{arn}}}:topic/{{{site}}}/${iot:ClientId}/telemetry", "{{{arn}}}:topic/{{{site}}}/${iot:ClientId}/events/*"]}""",
            $$$"""{"Effect": "Allow", "Action": ["iot:Subscribe"], "Resource": "{{{arn}}}:topicfilter/{{{site}}}/${iot:ClientId}/commands/*"}""",
            $$$"""{"Effect": "Allow", "Action": ["iot:Receive"], "Resource": "{{{arn}}}:topic/{{{site}}}/${iot:ClientId}/commands/*"}""",
            $$$"""{"Effect": "Deny", "Action": ["iot:Publish", "iot:Subscribe"], "Resource": ["{{{arn}}}:topic/{{{site}}}/admin/*", "{{{arn}}}:topicfilter/{{{site}}}/admin/*"]}""",
            $$$"""{"Effect": "Allow", "Action": ["iot:GetThingShadow", "iot:UpdateThingShadow"], "Resource": "{{{arn}}}:thing/${iot:Connection.Thing.ThingName}"}""",
            $$$"""{"Effect": "Allow", "Action": ["iot:RetainPublish", "iot:Publish"], "Resource": "{{{arn}}}:topic/{{{site}}}/${iot:ClientId}/state", "Condition": {"ForAnyValue:StringEquals": {"iot:ConnectAttributes": ["PersistentConnect"]} } }""",
            $$$"""{"Effect": "Allow", "Action": "iot:Publish", "Resource": "{{{arn}}}:topic/$aws/things/${iot:Connection.Thing.ThingName}/jobs/*", "Condition": {"IpAddress": {"aws:SourceIp": ["10.{{{index % 256}}}.0.0/16", "203.0.113.0/24"]} } }""",
        ];
        var count = 3 + index % 6;
        return $$$"""
            {
              "Version": "2012-10-17",
              "Id": "{{{PolicyName(index)}}}",
              "Statement": [
                {{{string.Join(",\n    ", statements.Take(count))}}}
              ]
            }
            """;
    }

    private static List<string> WriteCertificates(string directory, int count)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Bench Fleet CA, O=ExtAuthz Bench", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var notBefore = DateTimeOffset.UtcNow.AddDays(-1);
        using var ca = caRequest.CreateSelfSigned(notBefore, notBefore.AddYears(10));
        File.WriteAllText(Path.Combine(directory, "ca.pem"), ca.ExportCertificatePem() + "\n");

        // The CA's key is shared across threads through one X509SignatureGenerator per bundle.
        var ids = new string[count];
        var bundles = (count + BundleSize - 1) / BundleSize;
        Parallel.For(0, bundles, bundle =>
        {
            using var signingKey = ECDsa.Create(caKey.ExportParameters(includePrivateParameters: true));
            var generator = X509SignatureGenerator.CreateForECDsa(signingKey);
            var pem = new StringBuilder();
            for (var i = bundle * BundleSize; i < Math.Min(count, (bundle + 1) * BundleSize); i++)
            {
                using var deviceKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                var request = new CertificateRequest($"CN={ThingName(i)}, OU=building-{i % GroupCount}, O=ExtAuthz Bench, C=US", deviceKey, HashAlgorithmName.SHA256);
                request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
                request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
                var serial = new byte[9];
                serial[0] = 0x01; // positive and unique: 0x01 followed by the index, big-endian
                System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(serial.AsSpan(1), i);
                using var certificate = request.Create(ca.SubjectName, generator, notBefore, notBefore.AddYears(2), serial);
                ids[i] = Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));
                pem.Append(certificate.ExportCertificatePem()).Append('\n');
            }

            File.WriteAllText(Path.Combine(directory, $"fleet-{bundle:D2}.pem"), pem.ToString());
        });
        return [.. ids];
    }
}
