using ExtAuthz.Identity.Tests.Support;
using ExtAuthz.Identity.X509;

namespace ExtAuthz.Identity.Tests;

public sealed class ForwardedClientCertTests
{
    private const string Hash = "468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688";

    [Fact]
    public void Envoys_documented_examples_parse()
    {
        // From Envoy's HTTP header documentation (x-forwarded-client-cert).
        var one = Single($"By=http://frontend.lyft.com;Hash={Hash};Subject=\"/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client\";URI=http://testclient.lyft.com");
        Assert.Equal(["http://frontend.lyft.com"], one.By);
        Assert.Equal(Hash, one.Hash);
        Assert.Equal("/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client", one.Subject);
        Assert.Equal(["http://testclient.lyft.com"], one.Uri);
        Assert.Empty(one.Dns);
        Assert.Null(one.Cert);

        var two = ForwardedClientCert.Parse($"By=http://frontend.lyft.com;Hash={Hash};URI=http://testclient.lyft.com,By=http://backend.lyft.com;Hash=9ba61d6425303443c0748a02dd8de688468ed33be74eee6556d90c0149c1309e;URI=http://frontend.lyft.com");
        Assert.True(two.Succeeded, two.Error);
        Assert.Equal(2, two.Elements!.Count);
        Assert.Equal(["http://backend.lyft.com"], two.Elements[1].By);

        var dns = Single($"By=http://frontend.lyft.com;Hash={Hash};URI=http://testclient.lyft.com;DNS=lyft.com;DNS=www.lyft.com");
        Assert.Equal(["lyft.com", "www.lyft.com"], dns.Dns);

        var empty = Single($"By=http://frontend.lyft.com;Hash={Hash};Subject=\"\";URI=");
        Assert.Equal("", empty.Subject);
        Assert.Equal([""], empty.Uri);
    }

    [Fact]
    public void What_SANITIZE_SET_writes_round_trips()
    {
        var name = Pki.Name([Pki.Attribute.Utf8("2.5.4.6", "US")], [Pki.Attribute.Utf8("2.5.4.10", "Acme, Inc.")], [Pki.Attribute.Utf8("2.5.4.3", "sensor \"1\"")]);
        var device = Pki.Device(name, sans: b =>
        {
            b.AddUri(new Uri("spiffe://acme/sensor-1?x=y"));
            b.AddDnsName("sensor-1.acme.example");
            b.AddDnsName("alt.acme.example");
        });
        var header = ForwardedClientCert.Format(device, by: ["spiffe://acme/envoy"]);

        Assert.True(header.Length > 0, header);
        Assert.StartsWith("By=spiffe://acme/envoy;Hash=" + Pki.Id(device) + ";Cert=\"-----BEGIN%20CERTIFICATE-----%0A", header, StringComparison.Ordinal);
        Assert.EndsWith("\";Subject=\"CN=sensor \\\"1\\\",O=Acme\\, Inc.,C=US\";URI=spiffe://acme/sensor-1?x=y;DNS=sensor-1.acme.example;DNS=alt.acme.example", header, StringComparison.Ordinal);

        var element = Single(header);
        Assert.Equal(EnvoyCertificate.Encode(device), element.Cert);
        Assert.Equal(Pki.Id(device), element.Hash);
        Assert.Equal(OpenSslSubject.Subject(device), element.Subject);
        Assert.Equal("CN=sensor \\\"1\\\",O=Acme\\, Inc.,C=US", element.Subject);
        Assert.Equal(["spiffe://acme/sensor-1?x=y"], element.Uri);
        Assert.Equal(["sensor-1.acme.example", "alt.acme.example"], element.Dns);
    }

    [Fact]
    public void A_certificate_without_URI_SANs_gets_an_empty_URI_and_the_chain_is_quoted_PEM()
    {
        var ca = Pki.Ca();
        var device = Pki.Device("CN=d", ca);
        var element = Single(ForwardedClientCert.Format(device, chain: [device, ca]));
        Assert.Equal([""], element.Uri);
        Assert.Equal(EnvoyCertificate.UrlEncode(Pki.Pem(device) + Pki.Pem(ca)), element.Chain);
    }

    [Fact]
    public void Keys_are_case_insensitive_and_quoted_values_are_kept_verbatim()
    {
        var element = Single($"hash={Hash};SUBJECT=\"CN=a\\\\,O=b\\\"c;d,e=f\";uri=u");
        Assert.Equal(Hash, element.Hash);
        Assert.Equal("CN=a\\\\,O=b\\\"c;d,e=f", element.Subject);
        Assert.Equal(["u"], element.Uri);
    }

    [Theory]
    [InlineData("Hash", "expected key=value but found the end of the header after 'Hash'")]
    [InlineData("Hash=a;", "the header ends with ';'")]
    [InlineData("Hash=a,", "the header ends with ','")]
    [InlineData("Hash=a;;URI=b", "an empty key=value pair at offset 7")]
    [InlineData(",Hash=a", "an empty key=value pair at offset 0")]
    [InlineData("=a", "empty key at offset 0")]
    [InlineData("Hash=a,,Hash=b", "(element 2): an empty key=value pair")]
    [InlineData("Foo=bar", "unknown key 'Foo'")]
    [InlineData("Hash=a; URI=b", "unknown key ' URI'")]
    [InlineData("Hash=a;Hash=b", "Hash appears twice in one element")]
    [InlineData("Cert=\"a\";Cert=\"b\"", "Cert appears twice")]
    [InlineData("Subject=\"a\";Subject=\"b\"", "Subject appears twice")]
    [InlineData("Subject=\"CN=a", "never closed")]
    [InlineData("Subject=\"CN=a\\\"", "never closed")]
    [InlineData("Subject=\"a\"b;Hash=c", "follows the quoted value of Subject")]
    [InlineData("URI=a\"b", "inside the unquoted value of URI")]
    [InlineData("Hash=a;URI;DNS=b", "expected key=value but found ';'")]
    [InlineData("\"Hash\"=a", "expected key=value but found '\"'")]
    public void Malformed_headers_are_refused_with_a_reason(string header, string reason)
    {
        var parsing = ForwardedClientCert.Parse(header);
        Assert.False(parsing.Succeeded);
        Assert.Null(parsing.Elements);
        Assert.Contains(reason, parsing.Error, StringComparison.Ordinal);
        Assert.StartsWith("malformed x-forwarded-client-cert", parsing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_and_oversized_headers_are_refused()
    {
        Assert.Contains("empty", ForwardedClientCert.Parse("").Error, StringComparison.Ordinal);
        Assert.Contains("empty", ForwardedClientCert.Parse(null).Error, StringComparison.Ordinal);
        Assert.Contains("at most", ForwardedClientCert.Parse("Hash=" + new string('a', ForwardedClientCert.MaxHeaderLength)).Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_SAN_smuggling_a_second_Cert_is_a_duplicate()
    {
        // Envoy does not quote URI SANs, so a SAN holding ';Cert=...' would add a key; it cannot replace the real one.
        var parsing = ForwardedClientCert.Parse($"Hash={Hash};Cert=\"real\";Subject=\"\";URI=urn:x;Cert=\"forged\"");
        Assert.Contains("Cert appears twice", parsing.Error, StringComparison.Ordinal);
    }

    private static ForwardedClientCert Single(string header)
    {
        var parsing = ForwardedClientCert.Parse(header);
        Assert.True(parsing.Succeeded, parsing.Error);
        return Assert.Single(parsing.Elements!);
    }
}
