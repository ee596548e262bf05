using System.Security.Cryptography.X509Certificates;
using System.Text;
using ExtAuthz.Registry;

namespace ExtAuthz.Identity.Tests.Support;

/// <summary>A registry directory written for a test (registry.yaml, PEM files, one allow-everything policy) and loaded.</summary>
internal sealed class Fleet : IDisposable
{
    public const string Prefix = "arn:aws:iot:us-east-1:123456789012:";

    private readonly string directory = Directory.CreateTempSubdirectory("extauthz-identity-").FullName;
    private readonly List<string> certificates = [];
    private readonly List<string> cas = [];
    private long generation;

    public Fleet()
    {
        File.WriteAllText(Path.Combine(directory, "Everything.json"),
            """{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}""");
    }

    public Fleet Certificate(X509Certificate2 certificate, string status = "ACTIVE")
    {
        var file = $"device-{certificates.Count}.pem";
        File.WriteAllText(Path.Combine(directory, file), Pki.Pem(certificate));
        certificates.Add($"  - pemFile: {file}\n    status: {status}\n    policies: [Everything]");
        return this;
    }

    public Fleet Ca(X509Certificate2 ca, string status = "ACTIVE", bool autoRegistration = true, string autoRegisteredStatus = "ACTIVE")
    {
        var file = $"ca-{cas.Count}.pem";
        File.WriteAllText(Path.Combine(directory, file), Pki.Pem(ca));
        cas.Add($"  - pemFile: {file}\n    status: {status}\n    autoRegistration: {(autoRegistration ? "true" : "false")}\n    autoRegisteredStatus: {autoRegisteredStatus}\n    policies: [Everything]");
        return this;
    }

    public RegistrySnapshot Load(RegistrySnapshot? previous = null)
    {
        var yaml = new StringBuilder("account: \"123456789012\"\nregion: us-east-1\n");
        if (certificates.Count > 0)
        {
            yaml.Append("certificates:\n").AppendJoin('\n', certificates).Append('\n');
        }

        if (cas.Count > 0)
        {
            yaml.Append("caCertificates:\n").AppendJoin('\n', cas).Append('\n');
        }

        File.WriteAllText(Path.Combine(directory, "registry.yaml"), yaml.ToString());
        return RegistryLoader.Load([directory], ++generation, previous: previous);
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
