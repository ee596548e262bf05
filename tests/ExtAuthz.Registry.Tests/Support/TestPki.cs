using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ExtAuthz.Registry.Tests.Support;

/// <summary>The kinds of subjectAltName entries AWS IoT exposes as iot:Certificate.SubjectAlternativeName.*.</summary>
public enum SubjectAltNameKind
{
    Dns,
    Email,
    Uri,
    IpAddress,
    DirectoryName,
}

/// <summary>One subjectAltName entry (GeneralName). A DirectoryName's value is a distinguished name such as "CN=a, O=b".</summary>
public sealed record SubjectAltName(SubjectAltNameKind Kind, string Value)
{
    public static SubjectAltName Dns(string name) => new(SubjectAltNameKind.Dns, name);

    public static SubjectAltName Email(string address) => new(SubjectAltNameKind.Email, address);

    public static SubjectAltName Uri(string uri) => new(SubjectAltNameKind.Uri, uri);

    public static SubjectAltName Ip(string address) => new(SubjectAltNameKind.IpAddress, address);

    public static SubjectAltName Directory(string distinguishedName) => new(SubjectAltNameKind.DirectoryName, distinguishedName);
}

/// <summary>Everything about a certificate the tests may want to choose; unset values get sensible defaults.</summary>
public sealed class CertificateOptions
{
    /// <summary>The signing CA (with its private key); null makes the certificate self-signed.</summary>
    public X509Certificate2? Issuer { get; init; }

    /// <summary>Big-endian serial number; null picks 16 random bytes (positive).</summary>
    public IReadOnlyList<byte>? SerialNumber { get; init; }

    public IReadOnlyList<SubjectAltName> AlternativeNames { get; init; } = [];

    public bool IsCertificateAuthority { get; init; }

    /// <summary>Default: one hour ago.</summary>
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary>Default: a year after NotBefore (ten for a CA), never past the issuer's NotAfter.</summary>
    public DateTimeOffset? NotAfter { get; init; }
}

/// <summary>
/// A throw-away PKI for tests: CAs, device certificates with any subject, issuer, serial number and
/// subjectAltNames, all ECDSA P-256 and generated in memory (nothing checked in). Every certificate
/// returned carries its private key, so it can sign others or be exported.
/// </summary>
public static class TestPki
{
    public const string DefaultCaSubject = "CN=ExtAuthz Test CA, O=ExtAuthz Tests";

    /// <summary>Well-known attribute names for <see cref="Name"/>, as AWS IoT spells them in iot:Certificate.Subject.*.</summary>
    private static readonly Dictionary<string, string> AttributeOids = new(StringComparer.OrdinalIgnoreCase)
    {
        ["CN"] = "2.5.4.3",
        ["CommonName"] = "2.5.4.3",
        ["SN"] = "2.5.4.4",
        ["Surname"] = "2.5.4.4",
        ["SerialNumber"] = "2.5.4.5",
        ["C"] = "2.5.4.6",
        ["Country"] = "2.5.4.6",
        ["L"] = "2.5.4.7",
        ["Locality"] = "2.5.4.7",
        ["ST"] = "2.5.4.8",
        ["State"] = "2.5.4.8",
        ["O"] = "2.5.4.10",
        ["Organization"] = "2.5.4.10",
        ["OU"] = "2.5.4.11",
        ["OrganizationalUnit"] = "2.5.4.11",
        ["Title"] = "2.5.4.12",
        ["GivenName"] = "2.5.4.42",
        ["Initials"] = "2.5.4.43",
        ["GenerationQualifier"] = "2.5.4.44",
        ["DistinguishedNameQualifier"] = "2.5.4.46",
        ["Pseudonym"] = "2.5.4.65",
        ["E"] = "1.2.840.113549.1.9.1",
        ["EmailAddress"] = "1.2.840.113549.1.9.1",
        ["DC"] = "0.9.2342.19200300.100.1.25",
    };

    /// <summary>
    /// A distinguished name from (attribute, value) pairs in the order given (an attribute may repeat).
    /// Attributes are names such as CN, O, OU, DistinguishedNameQualifier, Pseudonym, or dotted OIDs.
    /// </summary>
    public static X500DistinguishedName Name(params (string Attribute, string Value)[] attributes)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        var builder = new X500DistinguishedNameBuilder();
        foreach (var (attribute, value) in attributes)
        {
            var oid = AttributeOids.TryGetValue(attribute, out var known) ? known : attribute;
            if (oid is "2.5.4.6")
            {
                builder.AddCountryOrRegion(value);
            }
            else if (oid is "1.2.840.113549.1.9.1")
            {
                builder.AddEmailAddress(value);
            }
            else
            {
                builder.Add(oid, value, UniversalTagNumber.UTF8String);
            }
        }

        return builder.Build();
    }

    /// <summary>A self-signed CA (basic constraints CA:true), or an intermediate when an issuer is given.</summary>
    public static X509Certificate2 CreateCa(string subject = DefaultCaSubject, X509Certificate2? issuer = null, IReadOnlyList<byte>? serialNumber = null) =>
        Create(new X500DistinguishedName(subject), new CertificateOptions { Issuer = issuer, SerialNumber = serialNumber, IsCertificateAuthority = true });

    /// <summary>A self-signed device certificate (AWS accepts those registered without a CA).</summary>
    public static X509Certificate2 CreateDevice(string subject, params SubjectAltName[] alternativeNames) =>
        Create(new X500DistinguishedName(subject), new CertificateOptions { AlternativeNames = alternativeNames });

    /// <summary>A device certificate signed by <paramref name="issuer"/>.</summary>
    public static X509Certificate2 CreateDevice(X509Certificate2 issuer, string subject, params SubjectAltName[] alternativeNames) =>
        Create(new X500DistinguishedName(subject), new CertificateOptions { Issuer = issuer, AlternativeNames = alternativeNames });

    /// <summary>The general form: any subject (see <see cref="Name"/>), issuer, serial number, names and validity.</summary>
    public static X509Certificate2 Create(X500DistinguishedName subject, CertificateOptions options)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(options);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        var ca = options.IsCertificateAuthority;
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(ca, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            ca ? X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature : X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        if (options.AlternativeNames.Count > 0)
        {
            request.CertificateExtensions.Add(AlternativeNamesExtension(options.AlternativeNames));
        }

        var notBefore = options.NotBefore ?? DateTimeOffset.UtcNow.AddHours(-1);
        var notAfter = options.NotAfter ?? notBefore.AddYears(ca ? 10 : 1);
        var serial = options.SerialNumber?.ToArray() ?? RandomSerial();
        if (options.Issuer is not { } issuer)
        {
            using var selfSigned = request.Create(subject, X509SignatureGenerator.CreateForECDsa(key), notBefore, notAfter, serial);
            return selfSigned.CopyWithPrivateKey(key);
        }

        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        if (notAfter > issuer.NotAfter)
        {
            notAfter = issuer.NotAfter;
        }

        using var signed = request.Create(issuer, notBefore, notAfter, serial);
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>PEM text of one or more certificates (a chain or bundle, in order).</summary>
    public static string ToPem(params X509Certificate2[] certificates)
    {
        ArgumentNullException.ThrowIfNull(certificates);
        return string.Concat(certificates.Select(c => c.ExportCertificatePem() + "\n"));
    }

    /// <summary>The certificate's private key as PKCS#8 PEM.</summary>
    public static string PrivateKeyPem(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var key = certificate.GetECDsaPrivateKey() ?? throw new ArgumentException("the certificate has no ECDSA private key", nameof(certificate));
        return key.ExportPkcs8PrivateKeyPem() + "\n";
    }

    /// <summary>AWS IoT's certificate ID computed independently of the code under test: lowercase hex SHA-256 of the DER.</summary>
    public static string AwsCertificateId(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return string.Concat(SHA256.HashData(certificate.RawData).Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
    }

    private static byte[] RandomSerial()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x01);
        return serial;
    }

    /// <summary>subjectAltName (2.5.29.17) with every GeneralName kind AWS IoT reads, in the order given.</summary>
    private static X509Extension AlternativeNamesExtension(IEnumerable<SubjectAltName> names) => TestPkiExtras.GeneralNames("2.5.29.17", names);
}
