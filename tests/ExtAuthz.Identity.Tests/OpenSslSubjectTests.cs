using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ExtAuthz.Identity.Tests.Support;
using ExtAuthz.Identity.X509;
using Attribute = ExtAuthz.Identity.Tests.Support.Pki.Attribute;

namespace ExtAuthz.Identity.Tests;

public sealed class OpenSslSubjectTests
{
    private const string CN = "2.5.4.3";

    /// <summary>Subjects with every character RFC 2253 cares about, where it matters (first, middle, last, alone).</summary>
    public static readonly string[] Values =
    [
        "a,b", "a+b", "a\"b", "a\\b", "a<b>c", "a;b", "a=b", "a/b", "'quoted'", " leading", "trailing ", " both ", "  ", " ", "#hash", "mid#hash", "#", "##",
        "ends#", "é ünïcödé", "日本語", "emoji 😀", "tab\there", "ctrl\u0001x", "del\u007f", "", ",", "+", "\\", "\"", "a b", "!$%&()*?@[]^_`{|}~", "é",
    ];

    [Fact]
    public void The_common_device_subject_is_most_specific_first_with_short_names_and_no_spaces()
    {
        var device = Pki.Device("E=ops@acme.example, CN=sensor-1, OU=Devices, O=Acme, L=Seattle, ST=Washington, C=US");
        Assert.Equal("emailAddress=ops@acme.example,CN=sensor-1,OU=Devices,O=Acme,L=Seattle,ST=Washington,C=US", OpenSslSubject.Subject(device));
        Assert.Equal("CN=dev1,O=Acme,C=US", OpenSslSubject.Subject(Pki.Device("CN=dev1, O=Acme, C=US")));
    }

    [Theory]
    [InlineData("a,b", "CN=a\\,b")]
    [InlineData("a+b;c<d>e\"f\\g", "CN=a\\+b\\;c\\<d\\>e\\\"f\\\\g")]
    [InlineData(" x ", "CN=\\ x\\ ")]
    [InlineData("#x#", "CN=\\#x#")]
    [InlineData("#", "CN=#")]
    [InlineData(" ", "CN=\\ ")]
    [InlineData("a=b", "CN=a=b")]
    [InlineData("é", "CN=\\C3\\A9")]
    [InlineData("tab\t", "CN=tab\\09")]
    [InlineData("", "CN=")]
    public void Values_are_escaped_as_OpenSSL_escapes_them(string value, string expected)
    {
        Assert.Equal(expected, OpenSslSubject.Format(Pki.Name([Attribute.Utf8(CN, value)])));
    }

    [Fact]
    public void A_multi_valued_RDN_is_joined_by_plus_and_reversed_too()
    {
        var name = Pki.Name([Attribute.Utf8("2.5.4.6", "US")], [Attribute.Utf8(CN, "a"), Attribute.Utf8("0.9.2342.19200300.100.1.1", "u1")]);
        Assert.Equal("UID=u1+CN=a,C=US", OpenSslSubject.Format(name));
    }

    [Fact]
    public void Unknown_attribute_types_and_non_string_values_are_dumped_as_DER_hex()
    {
        Assert.Equal("1.2.3.4.5=#0C0178", OpenSslSubject.Format(Pki.Name([Attribute.Utf8("1.2.3.4.5", "x")])));
        Assert.Equal("CN=#3003020101", OpenSslSubject.Format(Pki.Name([new Attribute(CN, 0x30, [0x02, 0x01, 0x01])])));
    }

    [Fact]
    public void Non_UTF8_string_types_are_converted_to_UTF8_before_escaping()
    {
        Assert.Equal("CN=caf\\C3\\A9", OpenSslSubject.Format(Pki.Name([new Attribute(CN, 20, [.. "caf"u8, 0xE9])])));
        Assert.Equal("CN=\\C3\\A9\\E6\\97\\A5", OpenSslSubject.Format(Pki.Name([new Attribute(CN, 30, Encoding.BigEndianUnicode.GetBytes("é日"))])));
        Assert.Equal("CN=\\F0\\9F\\98\\80", OpenSslSubject.Format(Pki.Name([new Attribute(CN, 28, Encoding.UTF32.GetBytes("😀").Reverse().ToArray())])));
    }

    [Fact]
    public void Where_OpenSSL_stops_on_a_bad_value_so_does_the_text()
    {
        var name = Pki.Name([Attribute.Utf8("2.5.4.6", "US")], [new Attribute(CN, 30, [0x00])], [Attribute.Utf8("2.5.4.10", "never")]);
        Assert.Equal("O=never,CN=", OpenSslSubject.Format(name));
    }

    [Fact]
    public void Bad_DER_is_refused_without_an_exception()
    {
        Assert.False(OpenSslSubject.TryFormat([0x30, 0x05, 0x31], out _));
        Assert.False(OpenSslSubject.TryFormat([], out _));
        Assert.False(OpenSslSubject.TryFormat([0x30, 0x03, 0x31, 0x01, 0x30], out _));
        Assert.True(OpenSslSubject.TryFormat([0x30, 0x00], out var empty));
        Assert.Equal("", empty);
    }

    [Fact]
    public void Agrees_with_the_openssl_binary_on_special_characters()
    {
        Assert.True(OpenSsl.Available, "these tests compare with the openssl binary; install openssl (.ci/run does)");

        AssertOpenSsl(Values.Select(value =>
            (Pki.Device(Pki.Name([Attribute.Utf8("2.5.4.6", "US")], [Attribute.Utf8("2.5.4.10", value)], [Attribute.Utf8(CN, value)])), value)));
    }

    [Fact]
    public void Agrees_with_the_openssl_binary_on_string_types_multi_valued_RDNs_and_dumps()
    {
        Assert.True(OpenSsl.Available, "these tests compare with the openssl binary; install openssl (.ci/run does)");

        var names = new Dictionary<string, X500DistinguishedName>
        {
            ["printable"] = Pki.Name([new Attribute("2.5.4.6", 19, "US"u8.ToArray())], [new Attribute(CN, 19, "a b"u8.ToArray())]),
            ["ia5 email"] = Pki.Name([new Attribute("1.2.840.113549.1.9.1", 22, "a+b@x.example"u8.ToArray())]),
            ["t61 latin-1"] = Pki.Name([new Attribute(CN, 20, [.. " caf"u8, 0xE9, (byte)' '])]),
            ["bmp"] = Pki.Name([new Attribute(CN, 30, Encoding.BigEndianUnicode.GetBytes("#é日 "))]),
            ["universal"] = Pki.Name([new Attribute(CN, 28, Encoding.UTF32.GetBytes("x😀").Chunk(4).SelectMany(c => c.Reverse()).ToArray())]),
            ["utf8 invalid bytes"] = Pki.Name([new Attribute(CN, 12, [0x61, 0xFF, 0xC3])]),
            ["multi-valued"] = Pki.Name([Attribute.Utf8("2.5.4.6", "US")], [Attribute.Utf8(CN, "a"), Attribute.Utf8("0.9.2342.19200300.100.1.1", "u"), Attribute.Utf8("2.5.4.11", "ou")]),
            ["unknown oid"] = Pki.Name([Attribute.Utf8("1.2.3.4.5", "x,y")], [Attribute.Utf8(CN, "z")]),
            ["sequence value"] = Pki.Name([new Attribute(CN, 0x30, [0x02, 0x01, 0x01])]),
            ["integer value"] = Pki.Name([new Attribute(CN, 2, [1, 0])]),
            ["empty utf8"] = Pki.Name([new Attribute(CN, 12, [])]),
            ["numeric string"] = Pki.Name([new Attribute("2.5.4.5", 18, "0123 456"u8.ToArray())]),
            ["visible string"] = Pki.Name([new Attribute(CN, 26, "v#s "u8.ToArray())]),
            ["dc chain"] = Pki.Name([new Attribute("0.9.2342.19200300.100.1.25", 22, "com"u8.ToArray())], [new Attribute("0.9.2342.19200300.100.1.25", 22, "example"u8.ToArray())], [Attribute.Utf8(CN, "d")]),
        };
        var unloadable = new List<string>();
        var cases = new List<(X509Certificate2, string)>();
        foreach (var (label, name) in names)
        {
            try
            {
                cases.Add((Pki.Device(name), label));
            }
            catch (System.Security.Cryptography.CryptographicException)
            {
                unloadable.Add(label);
            }
        }

        // OpenSSL itself refuses these names (a value that is not one of its DirectoryString-like types, a UTF8String that is not UTF-8), so Envoy never sees them.
        Assert.Equal(["utf8 invalid bytes", "integer value", "visible string"], unloadable);
        AssertOpenSsl(cases);
    }

    [Fact]
    public void Every_attribute_type_named_here_is_named_so_by_the_openssl_binary()
    {
        Assert.True(OpenSsl.Available, "these tests compare with the openssl binary; install openssl (.ci/run does)");

        AssertOpenSsl(OpenSslSubject.KnownAttributeOids.Select(oid => (Pki.Device(Pki.Name([Attribute.Utf8(oid, "v")])), oid)));
    }

    [Fact]
    public void Envoy_principal_is_the_first_URI_SAN_else_the_first_DNS_SAN_else_the_subject()
    {
        // Envoy's CheckAttrContextPeer / …DnsSans / …Subject vectors: principal "source" from each place in turn.
        var uri = Pki.Device("CN=ignored", sans: b =>
        {
            b.AddDnsName("dns-first.example");
            b.AddUri(new Uri("spiffe://acme/source"));
            b.AddUri(new Uri("spiffe://acme/second"));
        });
        Assert.Equal("spiffe://acme/source", EnvoyPrincipal.Of(uri));
        Assert.Equal(["spiffe://acme/source", "spiffe://acme/second"], EnvoyPrincipal.UriSans(uri));

        var dns = Pki.Device("CN=ignored", sans: b =>
        {
            b.AddEmailAddress("e@x.example");
            b.AddIpAddress(System.Net.IPAddress.Loopback);
            b.AddDnsName("source");
            b.AddDnsName("other");
        });
        Assert.Equal("source", EnvoyPrincipal.Of(dns));

        Assert.Equal("CN=source", EnvoyPrincipal.Of(Pki.Device("CN=source")));
        Assert.Equal("CN=dev1,O=Acme,C=US", EnvoyPrincipal.Of(Pki.Device("CN=dev1, O=Acme, C=US", sans: b => b.AddEmailAddress("only-email@x.example"))));
    }

    [Fact]
    public void SAN_bytes_that_are_not_UTF8_become_exclamation_marks_and_a_broken_SAN_extension_counts_as_none()
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteOctetString([0x61, 0xFF, 0x62, 0xC3, 0xA9], new Asn1Tag(TagClass.ContextSpecific, 6));
        }

        Assert.Equal("a!bé", EnvoyPrincipal.Of(Pki.WithRawSans("CN=x", writer.Encode())));
        Assert.Equal("CN=x", EnvoyPrincipal.Of(Pki.WithRawSans("CN=x", [0x30, 0x05, 0x86])));
        Assert.Equal("a!!b", EnvoyPrincipal.SanitizeUtf8([0x61, 0xED, 0xA0, 0x62]));
    }

    private static void AssertOpenSsl(IEnumerable<(X509Certificate2 Certificate, string Label)> cases)
    {
        var disagreements = new List<string>();
        foreach (var (certificate, label) in cases)
        {
            var expected = OpenSsl.Rfc2253Subject(certificate);
            var actual = OpenSslSubject.Subject(certificate);
            if (expected != actual)
            {
                disagreements.Add($"{label}: openssl says [{expected}], we say [{actual}]");
            }
        }

        Assert.True(disagreements.Count == 0, string.Join("\n", disagreements));
    }
}
