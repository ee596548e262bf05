using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ExtAuthz.Registry.Loading;

/// <summary>
/// Reads every CERTIFICATE block of a PEM text; a block that is not a certificate is reported with its
/// line. A full X.509 parse costs about 100 µs, which for a fleet of 100,000 would dominate a load, so
/// device certificates are checked structurally here (the Certificate and TBSCertificate sequences,
/// ~1 µs) and parsed on first use (<see cref="CertificateData"/>); CA certificates, few and needed at
/// once, are parsed now. A certificate the previous snapshot holds (same DER, same ID) is reused.
/// </summary>
internal static class Pem
{
    public static List<CertificateData> ReadCertificates(string text, string source, int firstLine, List<ConfigError> errors, Func<string, CertificateData?> known, bool parseNow)
    {
        var blocks = new List<(int Line, string Id, byte[] Der)>();
        var errorsBefore = errors.Count;
        var offset = 0;

        // Lines are counted as the scan advances; counting from the start for each block would make a
        // bundle of n certificates cost O(n²).
        var line = firstLine;
        var counted = 0;
        while (offset < text.Length && PemEncoding.TryFind(text.AsSpan(offset), out var fields))
        {
            var start = offset + fields.Location.Start.Value;
            line += text.AsSpan(counted, start - counted).Count('\n');
            counted = start;
            var label = text.AsSpan(offset)[fields.Label].ToString();
            var base64 = text.AsSpan(offset)[fields.Base64Data];
            offset += fields.Location.End.Value;
            if (label != "CERTIFICATE")
            {
                errors.Add(new ConfigError(source, line, 1, $"PEM block '{label}' is not a certificate (a private key has no place in the configuration)"));
                continue;
            }

            var der = new byte[fields.DecodedDataLength];
            if (!Convert.TryFromBase64Chars(base64, der, out var written))
            {
                errors.Add(new ConfigError(source, line, 1, "the certificate's base-64 does not decode"));
                continue;
            }

            blocks.Add((line, Convert.ToHexStringLower(SHA256.HashData(der.AsSpan(0, written))), der[..written]));
        }

        var certificates = new List<CertificateData>(blocks.Count);
        foreach (var (blockLine, id, der) in blocks)
        {
            if (known(id) is { } reused)
            {
                certificates.Add(reused);
                continue;
            }

            try
            {
                CheckStructure(der);
                certificates.Add(parseNow ? new CertificateData(id, X509CertificateLoader.LoadCertificate(der)) : new CertificateData(id, der));
            }
            catch (Exception ex) when (ex is CryptographicException or AsnContentException)
            {
                errors.Add(new ConfigError(source, blockLine, 1, $"not a valid X.509 certificate: {ex.Message}"));
            }
        }

        if (certificates.Count == 0 && errors.Count == errorsBefore)
        {
            errors.Add(new ConfigError(source, firstLine, 1, "no PEM certificate (-----BEGIN CERTIFICATE-----) found"));
        }

        return certificates;
    }

    /// <summary>Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version?, serial, signature, issuer, validity, subject, spki, … }, signatureAlgorithm, signatureValue BIT STRING }, in DER.</summary>
    private static void CheckStructure(byte[] der)
    {
        var reader = new AsnReader(der, AsnEncodingRules.DER);
        var certificate = reader.ReadSequence();
        reader.ThrowIfNotEmpty();
        var tbs = certificate.ReadSequence();
        if (tbs.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0)))
        {
            tbs.ReadEncodedValue();
        }

        tbs.ReadInteger();
        for (var element = 0; element < 5; element++)
        {
            tbs.ReadSequence();
        }

        certificate.ReadSequence();
        certificate.ReadBitString(out _);
        certificate.ThrowIfNotEmpty();
    }
}
