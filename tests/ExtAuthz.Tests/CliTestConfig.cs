using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ExtAuthz.Registry;

namespace ExtAuthz.Tests;

/// <summary>A temporary configuration directory for the command tests, with one generated device certificate.</summary>
internal sealed class CliTestConfig : IDisposable
{
    public const string Arn = "arn:aws:iot:us-east-1:123456789012:";

    public CliTestConfig()
    {
        Path = Directory.CreateTempSubdirectory("extauthz-cli-").FullName;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=sensor-1", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddYears(1));
        CertificateId = RegistryLoader.CertificateId(certificate);
        Write("sensor-1.pem", certificate.ExportCertificatePem());
    }

    public string Path { get; }

    public string CertificateId { get; }

    public string Write(string name, string text)
    {
        var path = System.IO.Path.Combine(Path, name);
        File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
    }

    /// <summary>A registry attaching <paramref name="policies"/> to the certificate; <paramref name="status"/> is its status.</summary>
    public CliTestConfig Registry(string policies = "DevicePolicy", string status = "ACTIVE")
    {
        Write("registry.yaml", $"""
            account: "123456789012"
            region: us-east-1
            certificates:
              - name: sensor-1
                pemFile: sensor-1.pem
                status: {status}
                policies: [{policies}]
            things:
              - name: sensor-1
                principals:
                  - certificate: sensor-1
            """);
        return this;
    }

    public CliTestConfig Policy(string name, string json)
    {
        Write(name + ".json", json);
        return this;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless.
        }
    }

    public static async Task<(int Exit, string Stdout, string Stderr)> Run(string stdin, params string[] args)
    {
        using var input = new StringReader(stdin);
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await Cli.RunAsync(args, input, output, error);
        return (exit, output.ToString(), error.ToString());
    }
}
