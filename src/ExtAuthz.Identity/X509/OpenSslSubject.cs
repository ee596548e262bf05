using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ExtAuthz.Identity.X509;

/// <summary>
/// A distinguished name exactly as OpenSSL's <c>X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253)</c>
/// prints it, which is what Envoy sends as <c>source.principal</c> for a certificate without URI or DNS
/// SANs and as XFCC's <c>Subject</c>. That is, following OpenSSL's <c>crypto/asn1/a_strex.c</c>:
/// <list type="bullet">
/// <item>every attribute, last one first (<c>XN_FLAG_DN_REV</c>, which reverses the values inside a
/// multi-valued RDN too), joined by <c>,</c>, or <c>+</c> between values of one RDN; no spaces;</item>
/// <item>OpenSSL's short names (<c>CN</c>, <c>ST</c>, <c>emailAddress</c>); an attribute type OpenSSL
/// does not name is its dotted OID, and its value the hex of its DER after <c>#</c>;</item>
/// <item>values: <c>" + , ; &lt; &gt; \</c> escaped with a backslash; a leading space or <c>#</c>
/// and a trailing space too (a one-character value counts as trailing only); control characters and
/// every byte above 0x7F as <c>\XX</c> (uppercase hex): UTF8String bytes as they are, other string
/// types converted to UTF-8 first; a value type that is not a string is dumped as <c>#</c> and its
/// DER in hex.</item>
/// </list>
/// </summary>
public static class OpenSslSubject
{
    // char_type bits from OpenSSL's crypto/asn1/charmap.h that matter with XN_FLAG_RFC2253.
    private const byte Rfc2253Escape = 1;
    private const byte ControlEscape = 2;
    private const byte FirstEscape = 32;
    private const byte LastEscape = 64;

    private static readonly byte[] CharType = BuildCharTypes();

    /// <summary>OpenSSL's short names (<c>OBJ_nid2sn</c>) for the attribute types that appear in names.</summary>
    private static readonly FrozenDictionary<string, string> ShortNames = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["2.5.4.3"] = "CN",
        ["2.5.4.4"] = "SN",
        ["2.5.4.5"] = "serialNumber",
        ["2.5.4.6"] = "C",
        ["2.5.4.7"] = "L",
        ["2.5.4.8"] = "ST",
        ["2.5.4.9"] = "street",
        ["2.5.4.10"] = "O",
        ["2.5.4.11"] = "OU",
        ["2.5.4.12"] = "title",
        ["2.5.4.13"] = "description",
        ["2.5.4.14"] = "searchGuide",
        ["2.5.4.15"] = "businessCategory",
        ["2.5.4.16"] = "postalAddress",
        ["2.5.4.17"] = "postalCode",
        ["2.5.4.18"] = "postOfficeBox",
        ["2.5.4.19"] = "physicalDeliveryOfficeName",
        ["2.5.4.20"] = "telephoneNumber",
        ["2.5.4.21"] = "telexNumber",
        ["2.5.4.22"] = "teletexTerminalIdentifier",
        ["2.5.4.23"] = "facsimileTelephoneNumber",
        ["2.5.4.24"] = "x121Address",
        ["2.5.4.25"] = "internationaliSDNNumber",
        ["2.5.4.26"] = "registeredAddress",
        ["2.5.4.27"] = "destinationIndicator",
        ["2.5.4.28"] = "preferredDeliveryMethod",
        ["2.5.4.29"] = "presentationAddress",
        ["2.5.4.30"] = "supportedApplicationContext",
        ["2.5.4.31"] = "member",
        ["2.5.4.32"] = "owner",
        ["2.5.4.33"] = "roleOccupant",
        ["2.5.4.34"] = "seeAlso",
        ["2.5.4.35"] = "userPassword",
        ["2.5.4.36"] = "userCertificate",
        ["2.5.4.37"] = "cACertificate",
        ["2.5.4.38"] = "authorityRevocationList",
        ["2.5.4.39"] = "certificateRevocationList",
        ["2.5.4.40"] = "crossCertificatePair",
        ["2.5.4.41"] = "name",
        ["2.5.4.42"] = "GN",
        ["2.5.4.43"] = "initials",
        ["2.5.4.44"] = "generationQualifier",
        ["2.5.4.45"] = "x500UniqueIdentifier",
        ["2.5.4.46"] = "dnQualifier",
        ["2.5.4.47"] = "enhancedSearchGuide",
        ["2.5.4.48"] = "protocolInformation",
        ["2.5.4.49"] = "distinguishedName",
        ["2.5.4.50"] = "uniqueMember",
        ["2.5.4.51"] = "houseIdentifier",
        ["2.5.4.52"] = "supportedAlgorithms",
        ["2.5.4.53"] = "deltaRevocationList",
        ["2.5.4.54"] = "dmdName",
        ["2.5.4.65"] = "pseudonym",
        ["2.5.4.72"] = "role",
        ["2.5.4.97"] = "organizationIdentifier",
        ["2.5.4.98"] = "c3",
        ["2.5.4.99"] = "n3",
        ["2.5.4.100"] = "dnsName",
        ["1.2.840.113549.1.9.1"] = "emailAddress",
        ["1.2.840.113549.1.9.2"] = "unstructuredName",
        ["1.2.840.113549.1.9.7"] = "challengePassword",
        ["1.2.840.113549.1.9.8"] = "unstructuredAddress",
        ["0.9.2342.19200300.100.1.1"] = "UID",
        ["0.9.2342.19200300.100.1.3"] = "mail",
        ["0.9.2342.19200300.100.1.25"] = "DC",
        ["1.3.6.1.4.1.311.60.2.1.1"] = "jurisdictionL",
        ["1.3.6.1.4.1.311.60.2.1.2"] = "jurisdictionST",
        ["1.3.6.1.4.1.311.60.2.1.3"] = "jurisdictionC",
        ["1.3.6.1.5.5.7.9.1"] = "id-pda-dateOfBirth",
        ["1.3.6.1.5.5.7.9.2"] = "id-pda-placeOfBirth",
        ["1.3.6.1.5.5.7.9.3"] = "id-pda-gender",
        ["1.3.6.1.5.5.7.9.4"] = "id-pda-countryOfCitizenship",
        ["1.3.6.1.5.5.7.9.5"] = "id-pda-countryOfResidence",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The OIDs this class names as OpenSSL does (for tests that check them against OpenSSL).</summary>
    public static IReadOnlyCollection<string> KnownAttributeOids => ShortNames.Keys;

    /// <summary>The subject of <paramref name="certificate"/> in OpenSSL's RFC 2253 form.</summary>
    public static string Subject(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Format(certificate.SubjectName);
    }

    /// <inheritdoc cref="TryFormat"/>
    /// <exception cref="CryptographicException">The name's DER cannot be read.</exception>
    public static string Format(X500DistinguishedName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return TryFormat(name.RawData, out var text) ? text : throw new CryptographicException("the distinguished name's DER cannot be read");
    }

    /// <summary>
    /// Formats a Name's DER (<c>SEQUENCE OF SET OF AttributeTypeAndValue</c>). False when the DER is not
    /// a Name. Where OpenSSL itself stops with an error inside a value (a BMPString of odd length), the
    /// text OpenSSL had written so far is returned, as Envoy would send it.
    /// </summary>
    public static bool TryFormat(ReadOnlySpan<byte> nameDer, [NotNullWhen(true)] out string? text)
    {
        var entries = new List<(int Set, string Oid, Asn1Tag Tag, byte[] Content, byte[] Encoded)>();
        try
        {
            var reader = new AsnReader(nameDer.ToArray(), AsnEncodingRules.BER);
            var rdns = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            for (var set = 0; rdns.HasData; set++)
            {
                var rdn = rdns.ReadSetOf(skipSortOrderValidation: true);
                while (rdn.HasData)
                {
                    var pair = rdn.ReadSequence();
                    var oid = pair.ReadObjectIdentifier();
                    var encoded = pair.ReadEncodedValue().ToArray();
                    pair.ThrowIfNotEmpty();
                    var tag = Asn1Tag.Decode(encoded, out _);
                    var content = tag.IsConstructed ? [] : Content(encoded);
                    entries.Add((set, oid, tag, content, encoded));
                }
            }
        }
        catch (AsnContentException)
        {
            text = null;
            return false;
        }
        catch (CryptographicException)
        {
            text = null;
            return false;
        }

        var builder = new StringBuilder();
        var previousSet = -1;
        for (var i = entries.Count - 1; i >= 0; i--)
        {
            var (set, oid, tag, content, encoded) = entries[i];
            if (previousSet != -1)
            {
                builder.Append(set == previousSet ? '+' : ',');
            }

            previousSet = set;
            if (ShortNames.TryGetValue(oid, out var shortName))
            {
                builder.Append(shortName).Append('=');
                if (!AppendValue(builder, tag, content, encoded))
                {
                    break;
                }
            }
            else
            {
                // XN_FLAG_DUMP_UNKNOWN_FIELDS: an unnamed type's value is always dumped.
                builder.Append(oid).Append('=');
                AppendDump(builder, encoded);
            }
        }

        text = builder.ToString();
        return true;
    }

    /// <summary>do_print_ex with ASN1_STRFLGS_RFC2253; false where OpenSSL's do_buf fails (output stops there).</summary>
    private static bool AppendValue(StringBuilder builder, Asn1Tag tag, byte[] content, byte[] encoded)
    {
        var width = tag.TagClass == TagClass.Universal && !tag.IsConstructed ? CharWidth(tag.TagValue) : -1;
        switch (width)
        {
            case -1:
                AppendDump(builder, encoded);
                return true;
            case 0:
                // UTF8String printed as UTF-8: OpenSSL reads it one byte per character so as not to convert twice.
                for (var i = 0; i < content.Length; i++)
                {
                    AppendEscaped(builder, content[i], Boundary(i, content.Length));
                }

                return true;
            case 1:
                for (var i = 0; i < content.Length; i++)
                {
                    AppendConverted(builder, content[i], Boundary(i, content.Length));
                }

                return true;
            default:
                if (content.Length % width != 0)
                {
                    return false;
                }

                var count = content.Length / width;
                for (var i = 0; i < count; i++)
                {
                    uint c = 0;
                    for (var b = 0; b < width; b++)
                    {
                        c = (c << 8) | content[(i * width) + b];
                    }

                    AppendConverted(builder, c, Boundary(i, count));
                }

                return true;
        }
    }

    /// <summary>OpenSSL's tag2nbyte: bytes per character by universal tag; 0 is UTF-8; -1 is not a string (dumped).</summary>
    private static int CharWidth(int tag) => tag switch
    {
        12 => 0,
        >= 18 and <= 27 => 1,
        28 => 4,
        30 => 2,
        _ => -1,
    };

    /// <summary>do_buf's orflags: the first character may need FIRST escaping, the last LAST (the last wins for a single character).</summary>
    private static byte Boundary(int index, int count) => index == count - 1 ? LastEscape : index == 0 ? FirstEscape : (byte)0;

    /// <summary>A character converted to UTF-8 (UTF8_putc; a surrogate or a value beyond U+10FFFF yields nothing), each byte escaped.</summary>
    private static void AppendConverted(StringBuilder builder, uint c, byte boundary)
    {
        if (c < 0x80)
        {
            AppendEscaped(builder, (byte)c, boundary);
            return;
        }

        if (c is >= 0xD800 and <= 0xDFFF || c > 0x10FFFF)
        {
            return;
        }

        Span<byte> utf8 = stackalloc byte[4];
        var length = new Rune((int)c).EncodeToUtf8(utf8);
        foreach (var b in utf8[..length])
        {
            AppendEscaped(builder, b, boundary);
        }
    }

    /// <summary>do_esc_char with ESC_2253 | ESC_CTRL | ESC_MSB.</summary>
    private static void AppendEscaped(StringBuilder builder, byte c, byte boundary)
    {
        if (c > 0x7F)
        {
            AppendHexEscape(builder, c);
            return;
        }

        var type = CharType[c] & (Rfc2253Escape | ControlEscape | boundary);
        if ((type & (Rfc2253Escape | FirstEscape | LastEscape)) != 0)
        {
            builder.Append('\\').Append((char)c);
        }
        else if ((type & ControlEscape) != 0)
        {
            AppendHexEscape(builder, c);
        }
        else
        {
            builder.Append((char)c);
        }
    }

    private static void AppendHexEscape(StringBuilder builder, byte c) =>
        builder.Append('\\').Append("0123456789ABCDEF"[c >> 4]).Append("0123456789ABCDEF"[c & 0xF]);

    /// <summary>do_dump with ASN1_STRFLGS_DUMP_DER: <c>#</c> and the value's DER in uppercase hex.</summary>
    private static void AppendDump(StringBuilder builder, byte[] encoded) => builder.Append('#').Append(Convert.ToHexString(encoded));

    private static byte[] Content(byte[] encoded) =>
        AsnDecoder.TryReadEncodedValue(encoded, AsnEncodingRules.BER, out _, out var offset, out var length, out _)
            ? encoded.AsSpan(offset, length).ToArray()
            : throw new AsnContentException("an attribute value cannot be read");

    private static byte[] BuildCharTypes()
    {
        var types = new byte[128];
        for (var c = 0; c < 32; c++)
        {
            types[c] = ControlEscape;
        }

        types[127] = ControlEscape;
        types[' '] = FirstEscape | LastEscape;
        types['#'] = FirstEscape;
        foreach (var c in "\"+,;<>\\")
        {
            types[c] = Rfc2253Escape;
        }

        return types;
    }
}
