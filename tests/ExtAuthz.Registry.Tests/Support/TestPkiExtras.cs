using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ExtAuthz.Registry.Tests.Support;

/// <summary>
/// What the IoT tests need beyond <see cref="TestPki"/>: distinguished names encoded in exactly the
/// order given (the order <c>openssl x509 -subject</c> prints), issuer alternative names, and an
/// impostor CA with the same subject and a different key.
/// </summary>
public static class TestPkiExtras
{
    /// <summary>The X.520 attributes AWS IoT exposes as iot:Certificate.Subject.* / Issuer.*, by AWS's names and the usual short names.</summary>
    private static readonly Dictionary<string, string> Oids = new(StringComparer.OrdinalIgnoreCase)
    {
        ["DistinguishedNameQualifier"] = "2.5.4.46",
        ["Country"] = "2.5.4.6",
        ["C"] = "2.5.4.6",
        ["Organization"] = "2.5.4.10",
        ["O"] = "2.5.4.10",
        ["OrganizationalUnit"] = "2.5.4.11",
        ["OU"] = "2.5.4.11",
        ["State"] = "2.5.4.8",
        ["ST"] = "2.5.4.8",
        ["CommonName"] = "2.5.4.3",
        ["CN"] = "2.5.4.3",
        ["SerialNumber"] = "2.5.4.5",
        ["Title"] = "2.5.4.12",
        ["Surname"] = "2.5.4.4",
        ["GivenName"] = "2.5.4.42",
        ["Initials"] = "2.5.4.43",
        ["Pseudonym"] = "2.5.4.65",
        ["GenerationQualifier"] = "2.5.4.44",
    };

    /// <summary>
    /// A distinguished name whose DER holds one single-valued RDN per pair, in the order given: the first
    /// pair is the first RDN of the certificate. (X500DistinguishedNameBuilder, which TestPki.Name uses,
    /// encodes in the reverse order of its calls.)
    /// </summary>
    public static X500DistinguishedName EncodedName(params (string Attribute, string Value)[] attributes)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (var (attribute, value) in attributes)
            {
                var oid = Oids.TryGetValue(attribute, out var known) ? known : attribute;
                using (writer.PushSetOf())
                using (writer.PushSequence())
                {
                    writer.WriteObjectIdentifier(oid);
                    writer.WriteCharacterString(oid == "2.5.4.6" ? UniversalTagNumber.PrintableString : UniversalTagNumber.UTF8String, value);
                }
            }
        }

        return new X500DistinguishedName(writer.Encode());
    }

    /// <summary>
    /// A certificate with any subject, signed by <paramref name="issuer"/> (self-signed when null), with
    /// subjectAltName and issuerAltName entries, an optional serial number and validity.
    /// </summary>
    public static X509Certificate2 Create(
        X500DistinguishedName subject,
        X509Certificate2? issuer,
        IReadOnlyList<SubjectAltName>? subjectAlternativeNames = null,
        IReadOnlyList<SubjectAltName>? issuerAlternativeNames = null,
        byte[]? serialNumber = null,
        bool isCertificateAuthority = false)
    {
        ArgumentNullException.ThrowIfNull(subject);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(isCertificateAuthority, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            isCertificateAuthority ? X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature : X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        if (subjectAlternativeNames is { Count: > 0 })
        {
            request.CertificateExtensions.Add(GeneralNames("2.5.29.17", subjectAlternativeNames));
        }

        if (issuerAlternativeNames is { Count: > 0 })
        {
            request.CertificateExtensions.Add(GeneralNames("2.5.29.18", issuerAlternativeNames));
        }

        var notBefore = DateTimeOffset.UtcNow.AddHours(-1);
        var serial = serialNumber ?? RandomSerial();
        if (issuer is null)
        {
            using var selfSigned = request.Create(subject, X509SignatureGenerator.CreateForECDsa(key), notBefore, notBefore.AddYears(1), serial);
            return selfSigned.CopyWithPrivateKey(key);
        }

        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        var notAfter = notBefore.AddYears(1) > issuer.NotAfter ? new DateTimeOffset(issuer.NotAfter.ToUniversalTime()) : notBefore.AddYears(1);
        using var signed = request.Create(issuer, notBefore, notAfter, serial);
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>A CA with the same subject name as <paramref name="genuine"/> but its own key: what an attacker can mint.</summary>
    public static X509Certificate2 ImpostorCa(X509Certificate2 genuine)
    {
        ArgumentNullException.ThrowIfNull(genuine);
        return TestPki.Create(genuine.SubjectName, new CertificateOptions { IsCertificateAuthority = true });
    }

    /// <summary>A GeneralNames extension (subjectAltName 2.5.29.17 or issuerAltName 2.5.29.18), entries in the order given.</summary>
    public static X509Extension GeneralNames(string oid, IEnumerable<SubjectAltName> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (var name in names)
            {
                switch (name.Kind)
                {
                    case SubjectAltNameKind.Email:
                        writer.WriteCharacterString(UniversalTagNumber.IA5String, name.Value, new Asn1Tag(TagClass.ContextSpecific, 1));
                        break;
                    case SubjectAltNameKind.Dns:
                        writer.WriteCharacterString(UniversalTagNumber.IA5String, name.Value, new Asn1Tag(TagClass.ContextSpecific, 2));
                        break;
                    case SubjectAltNameKind.DirectoryName:
                        using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 4, isConstructed: true)))
                        {
                            writer.WriteEncodedValue(new X500DistinguishedName(name.Value).RawData);
                        }

                        break;
                    case SubjectAltNameKind.Uri:
                        writer.WriteCharacterString(UniversalTagNumber.IA5String, name.Value, new Asn1Tag(TagClass.ContextSpecific, 6));
                        break;
                    case SubjectAltNameKind.IpAddress:
                        writer.WriteOctetString(IPAddress.Parse(name.Value).GetAddressBytes(), new Asn1Tag(TagClass.ContextSpecific, 7));
                        break;
                    default:
                        throw new ArgumentOutOfRangeException(nameof(names), name.Kind, "unknown GeneralName kind");
                }
            }
        }

        return new X509Extension(oid, writer.Encode(), false);
    }

    private static byte[] RandomSerial()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x01);
        return serial;
    }
}
