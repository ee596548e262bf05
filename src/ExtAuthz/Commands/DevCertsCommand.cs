using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ExtAuthz.Registry;

namespace ExtAuthz.Commands;

/// <summary>
/// <c>extauthz dev-certs DIR</c>: a throw-away PKI for examples and local testing. Writes a self-signed
/// CA and two device certificates it signed (ECDSA P-256), with their private keys, and prints each
/// certificate's AWS IoT certificate ID. Never for production: the keys are written in the clear.
/// </summary>
internal static class DevCertsCommand
{
    public const string Help = """
        extauthz dev-certs [--force] DIR

        Creates a development PKI for the quickstart (examples/quickstart/certs) or local tests:

          DIR/ca.pem, DIR/ca.key              self-signed CA (CN=ExampleCorp Dev CA, O=ExampleCorp),
                                              basic constraints CA:true
          DIR/sensor-1.pem, DIR/sensor-1.key  device certificates signed by the CA: CN=sensor-N,
          DIR/sensor-2.pem, DIR/sensor-2.key  O=ExampleCorp, DNS name sensor-N.devices.example.com

        Keys are ECDSA P-256 in unencrypted PKCS#8 PEM, written with mode 0600 on Unix. DIR is created
        if needed. Existing files are never overwritten unless --force is given.

        Prints one line per certificate: its AWS IoT certificate ID (the lowercase hex SHA-256 of the
        DER) and its file, as sha256sum does.

        Exit status: 0 on success; 2 when a file exists (without --force) or cannot be written.
        These keys are unprotected: use them for development only.
        """;

    public static readonly string[] Devices = ["sensor-1", "sensor-2"];

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args is ["--help" or "-h"])
        {
            await stdout.WriteLineAsync(Help).ConfigureAwait(false);
            return Cli.ExitOk;
        }

        var force = args.Contains("--force");
        var rest = args.Where(a => a != "--force").ToArray();
        if (rest.Length != 1 || rest[0].StartsWith('-'))
        {
            await stderr.WriteLineAsync("extauthz dev-certs: expected one argument, the directory to write to\n\n" + Help).ConfigureAwait(false);
            return Cli.ExitUsage;
        }

        var directory = rest[0];
        string[] names = ["ca", .. Devices];
        var paths = names.SelectMany(n => new[] { Path.Combine(directory, n + ".pem"), Path.Combine(directory, n + ".key") }).ToArray();
        var existing = paths.Where(File.Exists).ToArray();
        if (existing.Length > 0 && !force)
        {
            await stderr.WriteLineAsync($"extauthz dev-certs: refusing to overwrite {string.Join(", ", existing)} (use --force to replace them)").ConfigureAwait(false);
            return Cli.ExitBadInput;
        }

        try
        {
            Directory.CreateDirectory(directory);
            var notBefore = DateTimeOffset.UtcNow.AddHours(-1);
            using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            using var ca = CreateCa(caKey, notBefore);
            await Write(directory, "ca", ca, caKey, stdout).ConfigureAwait(false);
            foreach (var device in Devices)
            {
                using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                using var certificate = CreateDevice(ca, key, device, notBefore);
                await Write(directory, device, certificate, key, stdout).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"extauthz dev-certs: {ex.Message}").ConfigureAwait(false);
            return Cli.ExitBadInput;
        }

        return Cli.ExitOk;
    }

    private static X509Certificate2 CreateCa(ECDsa key, DateTimeOffset notBefore)
    {
        var request = new CertificateRequest("CN=ExampleCorp Dev CA, O=ExampleCorp", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return request.CreateSelfSigned(notBefore, notBefore.AddYears(5));
    }

    private static X509Certificate2 CreateDevice(X509Certificate2 ca, ECDsa key, string name, DateTimeOffset notBefore)
    {
        var request = new CertificateRequest($"CN={name}, O=ExampleCorp", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2", "TLS Web Client Authentication")], critical: false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName($"{name}.devices.example.com");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // a positive INTEGER
        return request.Create(ca, notBefore, notBefore.AddYears(2), serial);
    }

    private static async Task Write(string directory, string name, X509Certificate2 certificate, ECDsa key, TextWriter stdout)
    {
        var certificatePath = Path.Combine(directory, name + ".pem");
        await File.WriteAllTextAsync(certificatePath, certificate.ExportCertificatePem() + "\n").ConfigureAwait(false);
        await WritePrivate(Path.Combine(directory, name + ".key"), key.ExportPkcs8PrivateKeyPem() + "\n").ConfigureAwait(false);
        await stdout.WriteLineAsync($"{RegistryLoader.CertificateId(certificate)}  {certificatePath}").ConfigureAwait(false);
    }

    /// <summary>Writes a private key readable by its owner only (0600) on Unix, also when replacing a file.</summary>
    private static async Task WritePrivate(string path, string text)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            if (File.Exists(path))
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }

        var stream = new FileStream(path, options);
        await using (stream.ConfigureAwait(false))
        {
            var writer = new StreamWriter(stream);
            await using (writer.ConfigureAwait(false))
            {
                await writer.WriteAsync(text).ConfigureAwait(false);
            }
        }
    }
}
