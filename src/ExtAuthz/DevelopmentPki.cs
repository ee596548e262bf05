using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ExtAuthz.Registry;

namespace ExtAuthz;

/// <summary>
/// A throw-away PKI for the quickstart and local testing (<c>extauthz dev-certs</c>, and <c>serve
/// --dev-certs</c> on first run): a self-signed CA, the quickstart's client certificates (two devices and
/// an operator's console) and a server certificate for <c>localhost</c> that the TLS listeners present,
/// all ECDSA P-256 and signed by the CA, keys in the clear. Never for production.
/// </summary>
internal static class DevelopmentPki
{
    public const string Ca = "ca";

    public const string Server = "server";

    /// <summary>The client certificates: CN=NAME, and this DNS name.</summary>
    private static readonly Dictionary<string, string> Clients = new(StringComparer.Ordinal)
    {
        ["sensor-1"] = "sensor-1.devices.example.com",
        ["sensor-2"] = "sensor-2.devices.example.com",
        ["console"] = "console.operators.example.com",
    };

    /// <summary>Every certificate's name; each is written as NAME.pem and NAME.key.</summary>
    public static readonly string[] Names = [Ca, .. Clients.Keys, Server];

    /// <summary>A newly written certificate: its AWS IoT certificate ID and its file.</summary>
    public readonly record struct Written(string CertificateId, string Path);

    public static string CertificatePath(string directory, string name) => Path.Combine(directory, name + ".pem");

    public static string KeyPath(string directory, string name) => Path.Combine(directory, name + ".key");

    /// <summary>The files of the whole PKI, certificates and keys, that already exist.</summary>
    public static string[] Existing(string directory) =>
        Names.SelectMany(n => new[] { CertificatePath(directory, n), KeyPath(directory, n) }).Where(File.Exists).ToArray();

    /// <summary>Writes the whole PKI, replacing any of its files.</summary>
    public static async Task<IReadOnlyList<Written>> CreateAsync(string directory)
    {
        Directory.CreateDirectory(directory);
        var notBefore = DateTimeOffset.UtcNow.AddHours(-1);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = CreateCa(caKey, notBefore);
        var written = new List<Written> { await WriteAsync(directory, Ca, ca, caKey).ConfigureAwait(false) };
        foreach (var name in Names.Where(n => n != Ca))
        {
            written.Add(await CreateSignedAsync(directory, name, ca, notBefore).ConfigureAwait(false));
        }

        return written;
    }

    /// <summary>
    /// Writes what is missing: nothing when every certificate and key exists; the whole PKI when none
    /// does; when the CA exists, each missing certificate signed by it (a quickstart made before the
    /// server certificate existed gains one).
    /// </summary>
    /// <exception cref="InvalidOperationException">Some certificates exist but not the CA that should have signed them, or a certificate lacks its key.</exception>
    public static async Task<IReadOnlyList<Written>> CompleteAsync(string directory)
    {
        var existing = Existing(directory);
        if (existing.Length == 0)
        {
            return await CreateAsync(directory).ConfigureAwait(false);
        }

        var halves = Names.Where(n => File.Exists(CertificatePath(directory, n)) != File.Exists(KeyPath(directory, n))).ToArray();
        if (halves.Length > 0)
        {
            throw new InvalidOperationException(
                $"the development certificates in {directory} are incomplete: {string.Join(", ", halves.Select(n => n + ".pem and " + n + ".key"))} must both exist or both be absent " +
                "(remove the directory to have them made again, or run 'extauthz dev-certs --force')");
        }

        if (!File.Exists(CertificatePath(directory, Ca)))
        {
            throw new InvalidOperationException(
                $"{directory} has development certificates but not the CA that signed them (ca.pem, ca.key); remove the directory to have them made again, or run 'extauthz dev-certs --force'");
        }

        using var ca = X509Certificate2.CreateFromPemFile(CertificatePath(directory, Ca), KeyPath(directory, Ca));
        var notBefore = DateTimeOffset.UtcNow.AddHours(-1);
        var written = new List<Written>();
        foreach (var name in Names.Where(n => n != Ca && !File.Exists(CertificatePath(directory, n))))
        {
            written.Add(await CreateSignedAsync(directory, name, ca, notBefore).ConfigureAwait(false));
        }

        return written;
    }

    private static async Task<Written> CreateSignedAsync(string directory, string name, X509Certificate2 ca, DateTimeOffset notBefore)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = name == Server ? CreateServer(ca, key, notBefore) : CreateClient(ca, key, name, notBefore);
        return await WriteAsync(directory, name, certificate, key).ConfigureAwait(false);
    }

    private static X509Certificate2 CreateCa(ECDsa key, DateTimeOffset notBefore)
    {
        var request = new CertificateRequest("CN=ExampleCorp Dev CA, O=ExampleCorp", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return request.CreateSelfSigned(notBefore, notBefore.AddYears(5));
    }

    private static X509Certificate2 CreateClient(X509Certificate2 ca, ECDsa key, string name, DateTimeOffset notBefore)
    {
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(Clients[name]);
        return CreateLeaf(ca, key, $"CN={name}, O=ExampleCorp", san, new Oid("1.3.6.1.5.5.7.3.2", "TLS Web Client Authentication"), notBefore);
    }

    /// <summary>The server certificate: <c>localhost</c> by name and by both loopback addresses, for TLS servers only.</summary>
    private static X509Certificate2 CreateServer(X509Certificate2 ca, ECDsa key, DateTimeOffset notBefore)
    {
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.IPv6Loopback);
        return CreateLeaf(ca, key, "CN=localhost, O=ExampleCorp", san, new Oid("1.3.6.1.5.5.7.3.1", "TLS Web Server Authentication"), notBefore);
    }

    private static X509Certificate2 CreateLeaf(X509Certificate2 ca, ECDsa key, string subject, SubjectAlternativeNameBuilder san, Oid usage, DateTimeOffset notBefore)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([usage], critical: false));
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // a positive INTEGER
        return request.Create(ca, notBefore, notBefore.AddYears(2), serial);
    }

    private static async Task<Written> WriteAsync(string directory, string name, X509Certificate2 certificate, ECDsa key)
    {
        var certificatePath = CertificatePath(directory, name);
        await File.WriteAllTextAsync(certificatePath, certificate.ExportCertificatePem() + "\n").ConfigureAwait(false);
        await WritePrivateAsync(KeyPath(directory, name), key.ExportPkcs8PrivateKeyPem() + "\n").ConfigureAwait(false);
        return new Written(RegistryLoader.CertificateId(certificate), certificatePath);
    }

    /// <summary>Writes a private key readable by its owner only (0600) on Unix, also when replacing a file.</summary>
    private static async Task WritePrivateAsync(string path, string text)
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
