using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ExtAuthz.Identity.X509;

/// <summary>
/// The principal Envoy derives from a peer certificate (<c>CheckRequestUtils::setAttrContextPeer</c>):
/// the first URI SAN, else the first DNS SAN, else the subject in OpenSSL's RFC 2253 form, passed
/// through <c>MessageUtil::sanitizeUtf8String</c> (each byte that is not valid UTF-8 becomes <c>!</c>).
/// SAN values are taken as their raw bytes, as Envoy's <c>generalNameAsString</c> does; other SAN
/// types (email, IP, otherName) are ignored; a SAN extension that does not parse counts as none.
/// </summary>
public static class EnvoyPrincipal
{
    private const string SubjectAltNameOid = "2.5.29.17";
    private static readonly Asn1Tag DnsTag = new(TagClass.ContextSpecific, 2);
    private static readonly Asn1Tag UriTag = new(TagClass.ContextSpecific, 6);

    /// <summary>What Envoy puts in <c>attributes.source.principal</c> for this certificate.</summary>
    public static string Of(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (UriSans(certificate) is [var uri, ..])
        {
            return uri;
        }

        if (DnsSans(certificate) is [var dns, ..])
        {
            return dns;
        }

        return SanitizeUtf8(Encoding.ASCII.GetBytes(OpenSslSubject.Subject(certificate)));
    }

    /// <summary>The URI SANs in order (XFCC's <c>URI=</c> values), sanitised.</summary>
    public static IReadOnlyList<string> UriSans(X509Certificate2 certificate) => Sans(certificate, UriTag);

    /// <summary>The DNS SANs in order (XFCC's <c>DNS=</c> values), sanitised.</summary>
    public static IReadOnlyList<string> DnsSans(X509Certificate2 certificate) => Sans(certificate, DnsTag);

    /// <summary>Envoy's <c>sanitizeUtf8String</c>: valid UTF-8 is kept, each byte that is not becomes <c>!</c>.</summary>
    public static string SanitizeUtf8(ReadOnlySpan<byte> bytes)
    {
        var builder = new StringBuilder(bytes.Length);
        while (!bytes.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(bytes, out var rune, out var consumed) == System.Buffers.OperationStatus.Done)
            {
                builder.Append(rune.ToString());
                bytes = bytes[consumed..];
            }
            else
            {
                builder.Append('!');
                bytes = bytes[1..];
            }
        }

        return builder.ToString();
    }

    private static List<string> Sans(X509Certificate2 certificate, Asn1Tag wanted)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var names = new List<string>();
        var extension = certificate.Extensions[SubjectAltNameOid];
        if (extension is null)
        {
            return names;
        }

        try
        {
            var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER);
            var sequence = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            var found = new List<string>();
            while (sequence.HasData)
            {
                var tag = sequence.PeekTag();
                if (tag.HasSameClassAndValue(wanted) && !tag.IsConstructed)
                {
                    found.Add(SanitizeUtf8(sequence.ReadOctetString(tag)));
                }
                else
                {
                    sequence.ReadEncodedValue();
                }
            }

            names.AddRange(found);
        }
        catch (AsnContentException)
        {
        }
        catch (CryptographicException)
        {
        }

        return names;
    }
}
