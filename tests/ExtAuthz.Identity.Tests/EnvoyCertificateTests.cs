using System.Security.Cryptography;
using ExtAuthz.Identity.Tests.Support;
using ExtAuthz.Identity.X509;
using ExtAuthz.Registry;

namespace ExtAuthz.Identity.Tests;

public sealed class EnvoyCertificateTests
{
    private static readonly System.Security.Cryptography.X509Certificates.X509Certificate2 Device = Pki.Device("CN=sensor-1,O=Acme,C=US");

    [Fact]
    public void Encoding_is_Envoys_OpenSSL_PEM_percent_encoded_with_uppercase_hex()
    {
        var encoded = EnvoyCertificate.Encode(Device);

        Assert.StartsWith("-----BEGIN%20CERTIFICATE-----%0AMII", encoded, StringComparison.Ordinal);
        Assert.EndsWith("%0A-----END%20CERTIFICATE-----%0A", encoded, StringComparison.Ordinal);
        Assert.DoesNotContain('+', encoded);
        Assert.DoesNotContain('/', encoded);
        Assert.DoesNotContain('=', encoded);
        Assert.DoesNotContain(' ', encoded);
        Assert.DoesNotMatch("%[0-9A-F]?[a-f]", encoded);
        Assert.Equal(Pki.LegacyEnvoyEncoding(Device), encoded);
        Assert.Equal(Pki.Pem(Device), Uri.UnescapeDataString(encoded));
    }

    [Fact]
    public void Url_encoding_keeps_only_alphanumerics_and_star_dash_dot_underscore()
    {
        Assert.Equal("aZ09*-._%20%2B%2F%3D%0A%25%7E%C3%A9", EnvoyCertificate.UrlEncode("aZ09*-._ +/=\n%~é"));
    }

    [Fact]
    public void Decoding_yields_the_DER_the_AWS_certificate_ID_and_the_issuer()
    {
        var decoding = EnvoyCertificate.Decode(EnvoyCertificate.Encode(Device));

        Assert.True(decoding.Succeeded, decoding.Reason);
        var certificate = decoding.Certificate!;
        Assert.Equal(RegistryLoader.CertificateId(Device), certificate.Id);
        Assert.Equal(Pki.Id(Device), certificate.Id);
        Assert.Equal(Device.RawData, certificate.Der.ToArray());
        Assert.Equal(Device.IssuerName.RawData, certificate.IssuerName.ToArray());
        Assert.True(certificate.IsEnvoyEncoding);
        Assert.Equal(CertificateFormatError.None, decoding.Error);
        using var parsed = certificate.Parse();
        Assert.Equal(Device.Thumbprint, parsed.Thumbprint);
    }

    [Theory]
    [InlineData("lowercase hex")]
    [InlineData("raw PEM")]
    [InlineData("CRLF")]
    [InlineData("76-character lines")]
    [InlineData("no final newline")]
    public void Other_spellings_decode_but_are_not_Envoys_encoding(string variant)
    {
        var pem = Pki.Pem(Device);
        var encoded = variant switch
        {
            "lowercase hex" => EnvoyCertificate.Encode(Device).Replace("%0A", "%0a", StringComparison.Ordinal),
            "raw PEM" => pem,
            "CRLF" => EnvoyCertificate.UrlEncode(pem.Replace("\n", "\r\n", StringComparison.Ordinal)),
            "76-character lines" => EnvoyCertificate.UrlEncode("-----BEGIN CERTIFICATE-----\n" + Convert.ToBase64String(Device.RawData, Base64FormattingOptions.InsertLineBreaks).Replace("\r\n", "\n", StringComparison.Ordinal) + "\n-----END CERTIFICATE-----\n"),
            _ => EnvoyCertificate.UrlEncode(pem.TrimEnd('\n')),
        };

        var decoding = EnvoyCertificate.Decode(encoded);

        Assert.True(decoding.Succeeded, decoding.Reason);
        Assert.Equal(Pki.Id(Device), decoding.Certificate!.Id);
        Assert.False(decoding.Certificate.IsEnvoyEncoding);
    }

    public static TheoryData<string, string, CertificateFormatError, string> Failures()
    {
        var good = EnvoyCertificate.Encode(Device);
        var pem = Pki.Pem(Device);
        var der = Device.RawData;
        var begin = "-----BEGIN CERTIFICATE-----\n";
        var end = "\n-----END CERTIFICATE-----\n";
        string Wrap(byte[] bytes) => EnvoyCertificate.UrlEncode(begin + Convert.ToBase64String(bytes) + end);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new()
        {
            { "empty", "", CertificateFormatError.Empty, "no client certificate" },
            { "too large", new string('A', EnvoyCertificate.MaxEncodedLength + 1), CertificateFormatError.TooLarge, "at most 65536" },
            { "% then non-hex", good.Insert(40, "%G1"), CertificateFormatError.BadPercentEncoding, "offset 40: '%G1'" },
            { "% at the end", good + "%", CertificateFormatError.BadPercentEncoding, "is not % followed by two hex digits" },
            { "% and one digit at the end", good + "%0", CertificateFormatError.BadPercentEncoding, "'%0'" },
            { "escaped non-ASCII byte", good.Insert(0, "%C3%A9"), CertificateFormatError.NotPem, "byte 0xC3" },
            { "raw non-ASCII character", "é" + good, CertificateFormatError.BadPercentEncoding, "U+00E9 at offset 0" },
            { "raw NUL", "\0" + good, CertificateFormatError.BadPercentEncoding, "U+0000" },
            { "encoded twice", EnvoyCertificate.UrlEncode(good), CertificateFormatError.EncodedTwice, "percent-encoded twice" },
            { "not PEM", "hello%20world", CertificateFormatError.NotPem, "no '-----BEGIN CERTIFICATE-----' line" },
            { "bare base-64", EnvoyCertificate.UrlEncode(Convert.ToBase64String(der)), CertificateFormatError.NotPem, "bare base-64" },
            { "a private key", EnvoyCertificate.UrlEncode(key.ExportPkcs8PrivateKeyPem() + "\n"), CertificateFormatError.NotCertificate, "'PRIVATE KEY', not a CERTIFICATE" },
            { "a truncated header", EnvoyCertificate.UrlEncode("-----BEGIN CERTIF"), CertificateFormatError.Truncated, "BEGIN' line is incomplete" },
            { "truncated in the base-64", good[..(good.Length / 2)], CertificateFormatError.Truncated, "no '-----END CERTIFICATE-----' line" },
            { "truncated END line", good[..^10], CertificateFormatError.Truncated, "no '-----END CERTIFICATE-----' line" },
            { "corrupted base-64", EnvoyCertificate.UrlEncode(pem.Insert(40, "!")), CertificateFormatError.BadBase64, "does not decode" },
            { "base-64 cut mid-quantum", EnvoyCertificate.UrlEncode(begin + Convert.ToBase64String(der)[..^3] + end), CertificateFormatError.BadBase64, "does not decode" },
            { "two certificates", EnvoyCertificate.UrlEncode(pem + Pki.Pem(Device)), CertificateFormatError.SeveralCertificates, "2 PEM blocks; Envoy sends only the leaf" },
            { "three certificates", EnvoyCertificate.UrlEncode(pem + pem + pem), CertificateFormatError.SeveralCertificates, "3 PEM blocks" },
            { "text before", EnvoyCertificate.UrlEncode("subject=x\n" + pem), CertificateFormatError.ExtraText, "before its '-----BEGIN' line" },
            { "text after", EnvoyCertificate.UrlEncode(pem + "trailer"), CertificateFormatError.ExtraText, "after its '-----END CERTIFICATE-----' line" },
            { "empty block", EnvoyCertificate.UrlEncode(begin + end), CertificateFormatError.NotX509, "empty" },
            { "garbage DER", Wrap(RandomNumberGenerator.GetBytes(300)), CertificateFormatError.NotX509, "DER is not X.509" },
            { "truncated DER", Wrap(der[..^20]), CertificateFormatError.NotX509, "DER is not X.509" },
            { "DER with trailing bytes", Wrap([.. der, 0x05, 0x00]), CertificateFormatError.NotX509, "follow the certificate" },
            { "a DER SEQUENCE that is not a certificate", Wrap([0x30, 0x03, 0x02, 0x01, 0x05]), CertificateFormatError.NotX509, "DER is not X.509" },
        };
    }

    [Theory]
    [MemberData(nameof(Failures))]
    public void Bad_input_is_a_typed_failure_with_a_precise_reason(string name, string encoded, CertificateFormatError error, string reason)
    {
        var decoding = EnvoyCertificate.Decode(encoded);

        Assert.False(decoding.Succeeded, name);
        Assert.Null(decoding.Certificate);
        Assert.Equal(error, decoding.Error);
        Assert.Contains(reason, decoding.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_is_empty()
    {
        Assert.Equal(CertificateFormatError.Empty, EnvoyCertificate.Decode(null).Error);
    }
}
