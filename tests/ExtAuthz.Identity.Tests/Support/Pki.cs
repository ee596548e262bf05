using System.Diagnostics;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ExtAuthz.Identity.Tests.Support;

/// <summary>Certificates for the tests, made with System.Security.Cryptography (P-256 keys: fast).</summary>
internal static class Pki
{
    public static X509Certificate2 Ca(string subject = "CN=Test CA,O=ExtAuthz")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(5));
    }

    public static X509Certificate2 Device(string subject, X509Certificate2? issuer = null, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null,
        Action<SubjectAlternativeNameBuilder>? sans = null) =>
        Device(new X500DistinguishedName(subject), issuer, notBefore, notAfter, sans);

    public static X509Certificate2 Device(X500DistinguishedName subject, X509Certificate2? issuer = null, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null,
        Action<SubjectAlternativeNameBuilder>? sans = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        if (sans is not null)
        {
            var builder = new SubjectAlternativeNameBuilder();
            sans(builder);
            request.CertificateExtensions.Add(builder.Build());
        }

        var from = notBefore ?? DateTimeOffset.UtcNow.AddDays(-1);
        var to = notAfter ?? DateTimeOffset.UtcNow.AddYears(1);
        if (issuer is null)
        {
            return request.CreateSelfSigned(from, to);
        }

        using var signed = request.Create(issuer, from, to, RandomNumberGenerator.GetBytes(12));
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>A certificate carrying an arbitrary (already encoded) SubjectAltName extension value.</summary>
    public static X509Certificate2 WithRawSans(string subject, byte[] sanExtensionValue)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509Extension("2.5.29.17", sanExtensionValue, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
    }

    public static string Id(X509Certificate2 certificate) => Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));

    public static string Pem(X509Certificate2 certificate) => PemEncoding.WriteString("CERTIFICATE", certificate.RawData) + "\n";

    /// <summary>Envoy's older encoding: absl::StrReplaceAll(pem, {\n → %0A, space → %20, + → %2B, / → %2F, = → %3D}).</summary>
    public static string LegacyEnvoyEncoding(X509Certificate2 certificate) =>
        Pem(certificate).Replace("\n", "%0A", StringComparison.Ordinal).Replace(" ", "%20", StringComparison.Ordinal)
            .Replace("+", "%2B", StringComparison.Ordinal).Replace("/", "%2F", StringComparison.Ordinal).Replace("=", "%3D", StringComparison.Ordinal);

    /// <summary>One attribute of a hand-built Name: its OID, its value's universal tag and content.</summary>
    public sealed record Attribute(string Oid, int Tag, byte[] Content)
    {
        public static Attribute Utf8(string oid, string value) => new(oid, 12, Encoding.UTF8.GetBytes(value));
    }

    /// <summary>A Name's DER, RDN by RDN in the order given (the first RDN is the least specific).</summary>
    public static X500DistinguishedName Name(params Attribute[][] rdns)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (var rdn in rdns)
            {
                using (writer.PushSetOf())
                {
                    foreach (var attribute in rdn)
                    {
                        using (writer.PushSequence())
                        {
                            writer.WriteObjectIdentifier(attribute.Oid);
                            writer.WriteEncodedValue(Tlv(attribute.Tag, attribute.Content));
                        }
                    }
                }
            }
        }

        return new X500DistinguishedName(writer.Encode());
    }

    public static byte[] Tlv(int tag, byte[] content)
    {
        var bytes = new List<byte> { (byte)tag };
        if (content.Length < 0x80)
        {
            bytes.Add((byte)content.Length);
        }
        else if (content.Length < 0x100)
        {
            bytes.AddRange([0x81, (byte)content.Length]);
        }
        else
        {
            bytes.AddRange([0x82, (byte)(content.Length >> 8), (byte)content.Length]);
        }

        bytes.AddRange(content);
        return [.. bytes];
    }
}

/// <summary>The real openssl binary, when the machine has one.</summary>
internal static class OpenSsl
{
    private static readonly Lazy<bool> Present = new(() =>
    {
        try
        {
            return Run(["version"], null).StartsWith("OpenSSL", StringComparison.Ordinal);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    });

    public static bool Available => Present.Value;

    /// <summary><c>openssl x509 -noout -subject -nameopt RFC2253</c>, without the <c>subject=</c> prefix.</summary>
    public static string Rfc2253Subject(X509Certificate2 certificate)
    {
        var output = Run(["x509", "-noout", "-subject", "-nameopt", "RFC2253"], Pki.Pem(certificate));
        if (!output.StartsWith("subject=", StringComparison.Ordinal))
        {
            // Not an xunit assertion: this file is also linked into the benchmarks.
            throw new InvalidOperationException($"openssl printed no subject: {output}");
        }

        return output["subject=".Length..].TrimEnd('\n');
    }

    private static string Run(string[] arguments, string? input)
    {
        var start = new ProcessStartInfo("openssl")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.Latin1,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        if (input is not null)
        {
            process.StandardInput.Write(input);
        }

        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return output;
    }
}

internal sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
