using System.Buffers;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ExtAuthz.Identity.X509;

/// <summary>What is wrong with an encoded certificate; <see cref="None"/> when it decoded.</summary>
public enum CertificateFormatError
{
    None,

    /// <summary>Null or empty: no certificate at all.</summary>
    Empty,

    /// <summary>Longer than <see cref="EnvoyCertificate.MaxEncodedLength"/>.</summary>
    TooLarge,

    /// <summary>A <c>%</c> not followed by two hex digits, or a character a URL encoding cannot hold.</summary>
    BadPercentEncoding,

    /// <summary>Still percent-encoded after one decoding: encoded twice somewhere on the way.</summary>
    EncodedTwice,

    /// <summary>No <c>-----BEGIN</c> line, or bytes PEM cannot hold.</summary>
    NotPem,

    /// <summary>A PEM block that is not a <c>CERTIFICATE</c> (a key, a CSR).</summary>
    NotCertificate,

    /// <summary>The PEM stops before its <c>-----END</c> line.</summary>
    Truncated,

    /// <summary>The base-64 between the PEM lines does not decode.</summary>
    BadBase64,

    /// <summary>More than one PEM block: Envoy sends the leaf certificate only.</summary>
    SeveralCertificates,

    /// <summary>Text before or after the PEM block.</summary>
    ExtraText,

    /// <summary>The DER is not an X.509 certificate (garbage, truncated, trailing bytes).</summary>
    NotX509,
}

/// <summary>The outcome of <see cref="EnvoyCertificate.Decode"/>: a certificate, or the error and a precise reason.</summary>
public readonly record struct CertificateDecoding(EnvoyCertificate? Certificate, CertificateFormatError Error, string? Reason)
{
    public bool Succeeded => Certificate is not null;

    internal static CertificateDecoding Fail(CertificateFormatError error, string reason) => new(null, error, reason);
}

/// <summary>
/// A client certificate as Envoy hands it over: <c>attributes.source.certificate</c> (and the
/// <c>Cert</c> of <c>x-forwarded-client-cert</c>) hold the leaf certificate as OpenSSL's PEM
/// (<c>PEM_write_bio_X509</c>: 64-character base-64 lines, every line ending in <c>\n</c>), then
/// <c>PercentEncoding::urlEncode</c>: every byte except <c>A-Z a-z 0-9 * - . _</c> as <c>%XX</c> with
/// uppercase hex. Decoding percent-decodes exactly once, strictly, reads exactly one CERTIFICATE block,
/// checks the DER's X.509 structure (about a microsecond, no full parse) and computes the AWS IoT
/// certificate ID (lowercase hex SHA-256 of the DER). It never throws on bad input.
/// </summary>
public sealed class EnvoyCertificate
{
    /// <summary>The longest encoded certificate accepted (Envoy's default header limit is 60 KiB; a real leaf is 1–4 KiB).</summary>
    public const int MaxEncodedLength = 64 * 1024;

    private const string CertificateLabel = "CERTIFICATE";

    private static readonly SearchValues<char> Base64Characters = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n");

    private readonly byte[] der;

    private EnvoyCertificate(string id, byte[] der, ReadOnlyMemory<byte> issuerName, bool isEnvoyEncoding)
    {
        Id = id;
        this.der = der;
        IssuerName = issuerName;
        IsEnvoyEncoding = isEnvoyEncoding;
    }

    /// <summary>The AWS IoT certificate ID: the lowercase hex SHA-256 of the DER.</summary>
    public string Id { get; }

    public ReadOnlyMemory<byte> Der => der;

    /// <summary>The DER of the issuer's Name, as it appears in the certificate.</summary>
    public ReadOnlyMemory<byte> IssuerName { get; }

    /// <summary>
    /// True when the input was byte for byte what Envoy writes for this DER. Only such inputs are cached:
    /// every certificate then has exactly one cache key, however else it could be spelled.
    /// </summary>
    public bool IsEnvoyEncoding { get; }

    /// <summary>A full X.509 parse (about 100 µs); throws <see cref="CryptographicException"/> for a DER the platform refuses.</summary>
    public X509Certificate2 Parse() => X509CertificateLoader.LoadCertificate(der);

    /// <summary>Decodes a URL-encoded PEM certificate; never throws.</summary>
    public static CertificateDecoding Decode(string? urlEncodedPem)
    {
        if (string.IsNullOrEmpty(urlEncodedPem))
        {
            return CertificateDecoding.Fail(CertificateFormatError.Empty, "no client certificate was presented");
        }

        if (urlEncodedPem.Length > MaxEncodedLength)
        {
            return CertificateDecoding.Fail(CertificateFormatError.TooLarge, $"the encoded certificate is {urlEncodedPem.Length} characters long; at most {MaxEncodedLength} are accepted");
        }

        var text = new char[urlEncodedPem.Length];
        var length = 0;
        for (var i = 0; i < urlEncodedPem.Length; i++)
        {
            var c = urlEncodedPem[i];
            if (c == '%')
            {
                if (i + 2 >= urlEncodedPem.Length || HexValue(urlEncodedPem[i + 1]) < 0 || HexValue(urlEncodedPem[i + 2]) < 0)
                {
                    var escape = urlEncodedPem.AsSpan(i, Math.Min(3, urlEncodedPem.Length - i)).ToString();
                    return CertificateDecoding.Fail(CertificateFormatError.BadPercentEncoding, $"bad percent-encoding at offset {i}: '{escape}' is not % followed by two hex digits");
                }

                var value = (HexValue(urlEncodedPem[i + 1]) << 4) | HexValue(urlEncodedPem[i + 2]);
                if (value >= 0x80)
                {
                    return CertificateDecoding.Fail(CertificateFormatError.NotPem, $"the escape {urlEncodedPem.AsSpan(i, 3)} at offset {i} decodes to byte 0x{value:X2}, which PEM text cannot contain");
                }

                text[length++] = (char)value;
                i += 2;
            }
            else if (c >= 0x80 || (c < 0x20 && c is not ('\n' or '\r' or '\t')))
            {
                return CertificateDecoding.Fail(CertificateFormatError.BadPercentEncoding, $"character U+{(int)c:X4} at offset {i} cannot appear in a URL-encoded certificate");
            }
            else
            {
                text[length++] = c;
            }
        }

        var pem = text.AsSpan(0, length);
        if (StillEncodedAt(pem) is var twice and >= 0)
        {
            return CertificateDecoding.Fail(CertificateFormatError.EncodedTwice, $"the certificate is percent-encoded twice: after decoding once it still holds '{pem.Slice(twice, 3)}'");
        }

        var decoded = ReadPem(pem);
        if (!decoded.Succeeded)
        {
            return decoded;
        }

        return decoded with { Certificate = decoded.Certificate!.WithEncoding(string.Equals(urlEncodedPem, Encode(decoded.Certificate.der), StringComparison.Ordinal)) };
    }

    /// <summary>Exactly what Envoy sends for a certificate: its OpenSSL PEM, URL-encoded.</summary>
    public static string Encode(ReadOnlySpan<byte> der) => UrlEncode(ToPem(der));

    /// <inheritdoc cref="Encode(ReadOnlySpan{byte})"/>
    public static string Encode(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Encode(certificate.RawData);
    }

    /// <summary>OpenSSL's <c>PEM_write_bio_X509</c> text: 64-character lines, each ending in <c>\n</c>, the END line too.</summary>
    public static string ToPem(ReadOnlySpan<byte> der) => PemEncoding.WriteString(CertificateLabel, der) + "\n";

    /// <summary>
    /// Envoy's <c>Http::Utility::PercentEncoding::urlEncode</c>: every UTF-8 byte except
    /// <c>A-Z a-z 0-9 * - . _</c> becomes <c>%XX</c> with uppercase hex (a space is <c>%20</c>).
    /// </summary>
    public static string UrlEncode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bytes = Encoding.UTF8.GetBytes(text);
        var builder = new StringBuilder(bytes.Length * 3 / 2);
        foreach (var b in bytes)
        {
            if (IsUnreserved(b))
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append("0123456789ABCDEF"[b >> 4]).Append("0123456789ABCDEF"[b & 0xF]);
            }
        }

        return builder.ToString();
    }

    private EnvoyCertificate WithEncoding(bool isEnvoyEncoding) =>
        isEnvoyEncoding == IsEnvoyEncoding ? this : new EnvoyCertificate(Id, der, IssuerName, isEnvoyEncoding);

    private static bool IsUnreserved(byte b) => b is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9'
        or (byte)'*' or (byte)'-' or (byte)'.' or (byte)'_';

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'A' and <= 'F' => c - 'A' + 10,
        >= 'a' and <= 'f' => c - 'a' + 10,
        _ => -1,
    };

    /// <summary>Where a <c>%XX</c> escape remains after one decoding (PEM never holds a <c>%</c>), or -1.</summary>
    private static int StillEncodedAt(ReadOnlySpan<char> pem)
    {
        for (var at = 0; at + 2 < pem.Length; at++)
        {
            if (pem[at] == '%' && HexValue(pem[at + 1]) >= 0 && HexValue(pem[at + 2]) >= 0)
            {
                return at;
            }
        }

        return -1;
    }

    private static CertificateDecoding ReadPem(ReadOnlySpan<char> pem)
    {
        const string Begin = "-----BEGIN ";
        const string End = "-----END ";
        var begin = pem.IndexOf(Begin, StringComparison.Ordinal);
        if (begin < 0)
        {
            var bare = !pem.Trim().IsEmpty && !pem.Trim().ContainsAnyExcept(Base64Characters);
            return CertificateDecoding.Fail(CertificateFormatError.NotPem, bare
                ? "the certificate is not PEM: it has no '-----BEGIN CERTIFICATE-----' line (bare base-64?)"
                : "the certificate is not PEM: it has no '-----BEGIN CERTIFICATE-----' line");
        }

        if (!pem[..begin].IsWhiteSpace())
        {
            return CertificateDecoding.Fail(CertificateFormatError.ExtraText, $"the certificate has {begin} characters of text before its '-----BEGIN' line");
        }

        var block = pem[begin..];
        var labelEnd = block[Begin.Length..].IndexOf("-----", StringComparison.Ordinal);
        var label = labelEnd < 0 ? null : block.Slice(Begin.Length, labelEnd).ToString();
        if (!PemEncoding.TryFind(block, out var fields) || fields.Location.Start.Value != 0)
        {
            if (label is null)
            {
                return CertificateDecoding.Fail(CertificateFormatError.Truncated, "the certificate is truncated: its '-----BEGIN' line is incomplete");
            }

            if (label != CertificateLabel)
            {
                return CertificateDecoding.Fail(CertificateFormatError.NotCertificate, $"the PEM block is '{Printable(label)}', not a CERTIFICATE");
            }

            return block.IndexOf(End + CertificateLabel + "-----", StringComparison.Ordinal) < 0
                ? CertificateDecoding.Fail(CertificateFormatError.Truncated, "the certificate is truncated: there is no '-----END CERTIFICATE-----' line")
                : CertificateDecoding.Fail(CertificateFormatError.BadBase64, "the certificate's base-64 does not decode (truncated or corrupted)");
        }

        if (label != CertificateLabel)
        {
            return CertificateDecoding.Fail(CertificateFormatError.NotCertificate, $"the PEM block is '{Printable(block[fields.Label].ToString())}', not a CERTIFICATE");
        }

        var rest = block[fields.Location.End.Value..];
        if (rest.IndexOf(Begin, StringComparison.Ordinal) >= 0)
        {
            var blocks = 1;
            for (var r = rest; r.IndexOf(Begin, StringComparison.Ordinal) is var at and >= 0; r = r[(at + Begin.Length)..])
            {
                blocks++;
            }

            return CertificateDecoding.Fail(CertificateFormatError.SeveralCertificates, $"the certificate holds {blocks} PEM blocks; Envoy sends only the leaf certificate");
        }

        if (!rest.IsWhiteSpace())
        {
            return CertificateDecoding.Fail(CertificateFormatError.ExtraText, "the certificate has text after its '-----END CERTIFICATE-----' line");
        }

        var der = new byte[fields.DecodedDataLength];
        if (der.Length == 0)
        {
            return CertificateDecoding.Fail(CertificateFormatError.NotX509, "the PEM block is empty");
        }

        if (!Convert.TryFromBase64Chars(block[fields.Base64Data], der, out var written))
        {
            return CertificateDecoding.Fail(CertificateFormatError.BadBase64, "the certificate's base-64 does not decode (truncated or corrupted)");
        }

        if (written != der.Length)
        {
            der = der[..written];
        }

        if (IssuerOf(der, out var problem) is not { } issuer)
        {
            return CertificateDecoding.Fail(CertificateFormatError.NotX509, $"the certificate's DER is not X.509: {problem}");
        }

        return new CertificateDecoding(new EnvoyCertificate(Convert.ToHexStringLower(SHA256.HashData(der)), der, issuer, isEnvoyEncoding: false), CertificateFormatError.None, null);
    }

    /// <summary>
    /// Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version?, serial, signature, issuer,
    /// validity, subject, spki, … }, signatureAlgorithm, signatureValue BIT STRING }, in DER, with
    /// nothing after it. Returns the issuer Name's DER, or null with the problem.
    /// </summary>
    private static ReadOnlyMemory<byte>? IssuerOf(byte[] der, out string? problem)
    {
        try
        {
            var reader = new AsnReader(der, AsnEncodingRules.DER);
            var certificate = reader.ReadSequence();
            if (reader.HasData)
            {
                problem = $"{reader.ReadEncodedValue().Length} or more bytes follow the certificate";
                return null;
            }

            var tbs = certificate.ReadSequence();
            if (tbs.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0)))
            {
                tbs.ReadEncodedValue();
            }

            tbs.ReadIntegerBytes();
            tbs.ReadSequence();
            var issuer = tbs.ReadEncodedValue();
            if (!Asn1Tag.Decode(issuer.Span, out _).HasSameClassAndValue(Asn1Tag.Sequence))
            {
                problem = "the issuer is not a Name";
                return null;
            }

            tbs.ReadSequence();
            tbs.ReadSequence();
            tbs.ReadSequence();
            certificate.ReadSequence();
            certificate.ReadBitString(out _);
            certificate.ThrowIfNotEmpty();
            problem = null;
            return issuer;
        }
        catch (AsnContentException ex)
        {
            problem = ex.Message;
            return null;
        }
        catch (CryptographicException ex)
        {
            problem = ex.Message;
            return null;
        }
    }

    /// <summary>A PEM label for a message: printable ASCII, at most 40 characters.</summary>
    private static string Printable(string label)
    {
        var clean = new string(label.Select(c => c is >= ' ' and < '\x7f' ? c : '?').Take(40).ToArray());
        return label.Length > 40 ? clean + "…" : clean;
    }
}
