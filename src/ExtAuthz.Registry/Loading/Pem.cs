using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ExtAuthz.Registry.Loading;

/// <summary>Reads every CERTIFICATE block of a PEM text; a block that does not parse is reported with its line.</summary>
internal static class Pem
{
    public static List<X509Certificate2> ReadCertificates(string text, string source, int firstLine, List<ConfigError> errors)
    {
        var certificates = new List<X509Certificate2>();
        var errorsBefore = errors.Count;
        var offset = 0;
        while (offset < text.Length && PemEncoding.TryFind(text.AsSpan(offset), out var fields))
        {
            var start = offset + fields.Location.Start.Value;
            var line = firstLine + text.AsSpan(0, start).Count('\n');
            var label = text.AsSpan(offset)[fields.Label].ToString();
            var base64 = text.AsSpan(offset)[fields.Base64Data];
            offset += fields.Location.End.Value;
            if (label != "CERTIFICATE")
            {
                errors.Add(new ConfigError(source, line, 1, $"PEM block '{label}' is not a certificate (a private key has no place in the configuration)"));
                continue;
            }

            try
            {
                var der = new byte[fields.DecodedDataLength];
                if (!Convert.TryFromBase64Chars(base64, der, out _))
                {
                    errors.Add(new ConfigError(source, line, 1, "the certificate's base-64 does not decode"));
                    continue;
                }

                certificates.Add(X509CertificateLoader.LoadCertificate(der));
            }
            catch (CryptographicException ex)
            {
                errors.Add(new ConfigError(source, line, 1, $"not a valid X.509 certificate: {ex.Message}"));
            }
        }

        if (certificates.Count == 0 && errors.Count == errorsBefore)
        {
            errors.Add(new ConfigError(source, firstLine, 1, "no PEM certificate (-----BEGIN CERTIFICATE-----) found"));
        }

        return certificates;
    }
}
