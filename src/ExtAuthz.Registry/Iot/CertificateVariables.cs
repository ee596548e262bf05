using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using ExtAuthz.Policy;

namespace ExtAuthz.Registry.Iot;

/// <summary>
/// AWS IoT's X.509 certificate policy variables: <c>iot:Certificate.Subject.*</c>, <c>.Issuer.*</c>, their
/// <c>AlternativeName.*</c>, <c>SerialNumber</c> and <c>AvailableKeys</c>. A multi-valued attribute gives
/// the first value under its bare name, the others under <c>.1</c>, <c>.2</c>… (1-based over the rest),
/// and all of them under <c>.List</c>; at most five values are kept. A value holding a wildcard character
/// (<c>* $ + ? #</c>) or longer than 1,024 characters is never substituted: it is left out of the bare and
/// indexed names (which are what policy variables read) and kept only in <c>.List</c>, which conditions
/// compare literally.
/// </summary>
public static class CertificateVariables
{
    public const int MaxValues = 5;
    public const int MaxValueLength = 1024;

    private static readonly (string Oid, string Name)[] Attributes =
    [
        ("2.5.4.46", "DistinguishedNameQualifier"),
        ("2.5.4.6", "Country"),
        ("2.5.4.10", "Organization"),
        ("2.5.4.11", "OrganizationalUnit"),
        ("2.5.4.8", "State"),
        ("2.5.4.3", "CommonName"),
        ("2.5.4.5", "SerialNumber"),
        ("2.5.4.12", "Title"),
        ("2.5.4.4", "Surname"),
        ("2.5.4.42", "GivenName"),
        ("2.5.4.43", "Initials"),
        ("2.5.4.65", "Pseudonym"),
        ("2.5.4.44", "GenerationQualifier"),
    ];

    private static readonly (Asn1Tag Tag, string Name)[] GeneralNameKinds =
    [
        (new Asn1Tag(TagClass.ContextSpecific, 1), "RFC822Name"),
        (new Asn1Tag(TagClass.ContextSpecific, 2), "DNSName"),
        (new Asn1Tag(TagClass.ContextSpecific, 4, isConstructed: true), "DirectoryName"),
        (new Asn1Tag(TagClass.ContextSpecific, 6), "UniformResourceIdentifier"),
        (new Asn1Tag(TagClass.ContextSpecific, 7), "IPAddress"),
    ];

    /// <summary>The Subject/Issuer attribute names AWS IoT defines (<c>iot:Certificate.Subject.{name}</c>).</summary>
    public static IReadOnlyList<string> AttributeNames { get; } = Attributes.Select(a => a.Name).ToArray();

    /// <summary>The AlternativeName kinds AWS IoT defines (<c>iot:Certificate.Subject.AlternativeName.{kind}</c>).</summary>
    public static IReadOnlyList<string> AlternativeNameKinds { get; } = GeneralNameKinds.Select(k => k.Name).ToArray();

    /// <summary>Every certificate variable with a value, keyed by its full name (e.g. <c>iot:Certificate.Subject.CommonName</c>).</summary>
    public static Dictionary<string, ContextValue> Extract(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var values = new Dictionary<string, ContextValue>(StringComparer.OrdinalIgnoreCase);
        AddDistinguishedName(values, "iot:Certificate.Subject", certificate.SubjectName);
        AddDistinguishedName(values, "iot:Certificate.Issuer", certificate.IssuerName);
        AddAlternativeNames(values, "iot:Certificate.Subject.AlternativeName", certificate.Extensions["2.5.29.17"]);
        AddAlternativeNames(values, "iot:Certificate.Issuer.AlternativeName", certificate.Extensions["2.5.29.18"]);

        // As `openssl x509 -serial` prints it: upper-case hex, no separators.
        Add(values, "iot:Certificate.SerialNumber", [certificate.SerialNumber]);
        values["iot:Certificate.AvailableKeys"] = new ContextValue(values.Keys.Order(StringComparer.Ordinal).ToArray());
        return values;
    }

    private static void AddDistinguishedName(Dictionary<string, ContextValue> values, string prefix, X500DistinguishedName name)
    {
        var found = new Dictionary<string, List<string>>(StringComparer.Ordinal);

        // In the certificate's own order (the order openssl prints): the first value is the first encoded.
        // EnumerateRelativeDistinguishedNames() defaults to the reverse (X500DistinguishedName.Name's order).
        foreach (var rdn in name.EnumerateRelativeDistinguishedNames(reversed: false))
        {
            foreach (var (oid, value) in Elements(rdn))
            {
                var attribute = Array.Find(Attributes, a => a.Oid == oid).Name;
                if (attribute is not null)
                {
                    (found.TryGetValue(attribute, out var list) ? list : found[attribute] = []).Add(value);
                }
            }
        }

        foreach (var (attribute, list) in found)
        {
            Add(values, $"{prefix}.{attribute}", list);
        }
    }

    /// <summary>The attributes of one RDN; a multi-valued RDN (<c>CN=a+O=b</c>) gives each of its attributes.</summary>
    private static List<(string Oid, string Value)> Elements(X500RelativeDistinguishedName rdn)
    {
        var elements = new List<(string, string)>();
        if (!rdn.HasMultipleElements)
        {
            if (rdn.GetSingleElementValue() is { } single)
            {
                elements.Add((rdn.GetSingleElementType().Value!, single));
            }

            return elements;
        }

        try
        {
            var set = new AsnReader(rdn.RawData, AsnEncodingRules.DER).ReadSetOf(skipSortOrderValidation: true);
            while (set.HasData)
            {
                var attribute = set.ReadSequence();
                var oid = attribute.ReadObjectIdentifier();
                var tag = attribute.PeekTag();
                if (tag.TagClass == TagClass.Universal)
                {
                    elements.Add((oid, attribute.ReadCharacterString((UniversalTagNumber)tag.TagValue)));
                }
            }
        }
        catch (Exception ex) when (ex is AsnContentException or ArgumentException)
        {
            // An attribute whose value is not a character string is not a policy variable.
        }

        return elements;
    }

    private static void AddAlternativeNames(Dictionary<string, ContextValue> values, string prefix, X509Extension? extension)
    {
        if (extension is null)
        {
            return;
        }

        var found = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        try
        {
            var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER).ReadSequence();
            while (reader.HasData)
            {
                var tag = reader.PeekTag();
                var kind = Array.Find(GeneralNameKinds, k => k.Tag.HasSameClassAndValue(tag)).Name;
                if (kind is null)
                {
                    reader.ReadEncodedValue();
                    continue;
                }

                var text = kind switch
                {
                    "DirectoryName" => new X500DistinguishedName(reader.ReadSequence(tag).ReadEncodedValue().Span).Name,
                    "IPAddress" => new IPAddress(reader.ReadOctetString(tag)).ToString(),
                    _ => reader.ReadCharacterString(UniversalTagNumber.IA5String, tag),
                };
                (found.TryGetValue(kind, out var list) ? list : found[kind] = []).Add(text);
            }
        }
        catch (Exception ex) when (ex is AsnContentException or ArgumentException or System.Security.Cryptography.CryptographicException)
        {
            // A malformed extension yields no alternative-name variables rather than a failed connection.
            return;
        }

        foreach (var (kind, list) in found)
        {
            Add(values, $"{prefix}.{kind}", list);
        }
    }

    private static void Add(Dictionary<string, ContextValue> values, string key, IReadOnlyList<string> all)
    {
        var kept = all.Take(MaxValues).ToArray();
        values[key + ".List"] = new ContextValue(kept);
        for (var i = 0; i < kept.Length; i++)
        {
            if (Substitutable(kept[i]))
            {
                values[i == 0 ? key : $"{key}.{i}"] = new ContextValue(kept[i]);
            }
        }
    }

    private static bool Substitutable(string value) =>
        value.Length <= MaxValueLength && value.AsSpan().IndexOfAny("*$+?#") < 0;
}
