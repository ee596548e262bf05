using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Envoy.Service.Auth.V3;
using ExtAuthz.Envoy.Simulation;
using ExtAuthz.Identity.Tests.Support;
using ExtAuthz.Identity.X509;
using Google.Protobuf;

namespace ExtAuthz.Envoy.Tests.Simulation;

/// <summary>
/// The builder against Envoy's own unit-test vectors (check_request_utils_test.cc, the reference's §6)
/// where they apply, and against what the connection manager does to headers before ext_authz runs.
/// </summary>
public sealed class EnvoyCheckRequestTests : IDisposable
{
    private static readonly IPEndPoint Client = new(IPAddress.Parse("203.0.113.7"), 51000);

    /// <summary>Envoy's fixture body: the sentence repeated until it is at least 8,192 bytes.</summary>
    private static readonly string Lorem = string.Concat(Enumerable.Repeat("Lorem ipsum dolor sit amet, consectetuer adipiscing elit.", 8192 / 57 + 1));

    private readonly X509Certificate2 uriDevice = Pki.Device("CN=source-device,O=Acme", sans: b =>
    {
        b.AddDnsName("source.example.com");
        b.AddUri(new Uri("spiffe://example.com/source"));
    });

    private readonly X509Certificate2 subjectOnly = Pki.Device("CN=dev1,O=Acme,C=US");

    public void Dispose()
    {
        uriDevice.Dispose();
        subjectOnly.Dispose();
    }

    private static AttributeContext.Types.HttpRequest Http(EnvoyCheckRequest builder) => builder.Build().Attributes.Request.Http;

    // Envoy's BasicTcp: the network filter's destination.service is the requested server name.
    [Fact]
    public void Network_form_has_no_request_and_names_the_sni_as_destination_service()
    {
        var request = EnvoyCheckRequest.Network().WithSource(Client).WithClientCertificate(uriDevice).WithSni("server.name").Build();
        var attributes = request.Attributes;

        Assert.Null(attributes.Request);
        Assert.Empty(attributes.ContextExtensions);
        Assert.Null(attributes.MetadataContext);
        Assert.Null(attributes.TlsSession);
        Assert.Equal("server.name", attributes.Destination.Service);
        Assert.Equal("", attributes.Source.Service);
        Assert.Equal("spiffe://example.com/source", attributes.Source.Principal);
        Assert.Equal("203.0.113.7", attributes.Source.Address.SocketAddress.Address);
        Assert.Equal(51000u, attributes.Source.Address.SocketAddress.PortValue);
        Assert.Equal(8883u, attributes.Destination.Address.SocketAddress.PortValue);
        Assert.Equal("", attributes.Destination.Certificate);
    }

    // Envoy's BasicTcp (include_peer_certificate false) and TcpPeerCertificate.
    [Fact]
    public void Peer_certificate_is_sent_by_default_and_only_then()
    {
        var with = EnvoyCheckRequest.Network().WithClientCertificate(uriDevice).Build();
        var without = EnvoyCheckRequest.Network().WithClientCertificate(uriDevice).IncludePeerCertificate(false).Build();

        Assert.Equal(EnvoyCertificate.Encode(uriDevice), with.Attributes.Source.Certificate);
        Assert.Equal("", without.Attributes.Source.Certificate);
        Assert.Equal("spiffe://example.com/source", without.Attributes.Source.Principal);
    }

    // Envoy's TcpTlsSession and CheckAttrContextPeerTLSSession.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Tls_session_carries_the_sni_only_when_included(bool network)
    {
        var builder = network ? EnvoyCheckRequest.Network() : EnvoyCheckRequest.Http("GET", "/");
        Assert.Null(builder.WithSni("foo.example.org").Build().Attributes.TlsSession);

        Assert.Equal("foo.example.org", builder.IncludeTlsSession().Build().Attributes.TlsSession.Sni);
        Assert.NotNull(builder.WithSni(null).Build().Attributes.TlsSession);
    }

    // Envoy's CheckAttrContextPeer / ...DnsSans / ...Subject: URI SAN first, else DNS SAN, else the subject.
    [Fact]
    public void Principal_is_the_first_uri_san_else_the_first_dns_san_else_the_openssl_subject()
    {
        using var dnsOnly = Pki.Device("CN=ignored", sans: b =>
        {
            b.AddDnsName("first.example.com");
            b.AddDnsName("second.example.com");
        });

        string Principal(X509Certificate2 certificate) => EnvoyCheckRequest.Http("GET", "/").WithClientCertificate(certificate).Build().Attributes.Source.Principal;

        Assert.Equal("spiffe://example.com/source", Principal(uriDevice));
        Assert.Equal("first.example.com", Principal(dnsOnly));
        Assert.Equal("CN=dev1,O=Acme,C=US", Principal(subjectOnly));
        Assert.Equal(OpenSsl.Rfc2253Subject(subjectOnly), Principal(subjectOnly));
    }

    [Fact]
    public void Destination_principal_comes_from_the_listener_certificate_and_no_certificate_is_sent_for_it()
    {
        using var server = Pki.Device("CN=envoy", sans: b => b.AddUri(new Uri("spiffe://example.com/envoy")));
        var attributes = EnvoyCheckRequest.Http("GET", "/").WithListenerCertificate(server).Build().Attributes;

        Assert.Equal("spiffe://example.com/envoy", attributes.Destination.Principal);
        Assert.Equal("", attributes.Destination.Certificate);
        Assert.Equal("", attributes.Source.Principal);
    }

    [Fact]
    public void Certificate_decodes_back_to_the_same_certificate_in_envoys_exact_encoding()
    {
        var encoded = EnvoyCheckRequest.Http("POST", "/topics/a").WithClientCertificate(subjectOnly).Build().Attributes.Source.Certificate;

        var decoding = EnvoyCertificate.Decode(encoded);
        Assert.True(decoding.Succeeded, decoding.Reason);
        Assert.True(decoding.Certificate!.IsEnvoyEncoding);
        Assert.Equal(Pki.Id(subjectOnly), decoding.Certificate.Id);
        Assert.StartsWith("-----BEGIN%20CERTIFICATE-----%0A", encoded, StringComparison.Ordinal);
        Assert.EndsWith("%0A-----END%20CERTIFICATE-----%0A", encoded, StringComparison.Ordinal);
    }

    // Envoy's BasicHttp: a client's x-envoy-auth-partial-body is dropped; no body, no header_map; time set.
    [Fact]
    public void Http_form_without_body_buffering()
    {
        var request = EnvoyCheckRequest.Http("POST", "/topics/a/b?qos=1").WithClientCertificate(subjectOnly)
            .WithHeader("x-envoy-auth-partial-body", "1").WithBody("{}").WithStreamId(8157480586935853928).Build();
        var attributes = request.Attributes;
        var http = attributes.Request.Http;

        Assert.NotNull(attributes.Request.Time);
        Assert.Equal("8157480586935853928", http.Id);
        Assert.Equal("POST", http.Method);
        Assert.Equal("/topics/a/b?qos=1", http.Path);
        Assert.Equal("127.0.0.1:8443", http.Host);
        Assert.Equal("https", http.Scheme);
        Assert.Equal("HTTP/1.1", http.Protocol);
        Assert.Equal("", http.Query);
        Assert.Equal("", http.Fragment);
        Assert.Equal(0, http.Size);
        Assert.Equal("", http.Body);
        Assert.True(http.RawBody.IsEmpty);
        Assert.Null(http.HeaderMap);
        Assert.False(http.Headers.ContainsKey("x-envoy-auth-partial-body"));
        Assert.NotNull(attributes.MetadataContext);
        Assert.NotNull(attributes.RouteMetadataContext);
        Assert.Equal("8443", attributes.ContextExtensions[ContextExtensionKeys.Port]);
    }

    [Fact]
    public void Headers_hold_the_pseudo_headers_and_what_the_connection_manager_adds_by_default()
    {
        var headers = Http(EnvoyCheckRequest.Http("GET", "/things/t1/shadow").WithSni("iot.example.com").WithHeader("Accept", "*/*"));

        Assert.Equal("iot.example.com:8443", headers.Headers[":authority"]);
        Assert.Equal("GET", headers.Headers[":method"]);
        Assert.Equal("/things/t1/shadow", headers.Headers[":path"]);
        Assert.Equal("https", headers.Headers[":scheme"]);
        Assert.Equal("*/*", headers.Headers["accept"]);
        Assert.Equal("https", headers.Headers["x-forwarded-proto"]);
        Assert.True(Guid.TryParse(headers.Headers["x-request-id"], out var id) && id.Version == 4);
        Assert.False(headers.Headers.ContainsKey("host"));
        Assert.False(headers.Headers.ContainsKey("x-forwarded-for"));
        Assert.False(headers.Headers.ContainsKey("x-envoy-internal"));
        Assert.False(headers.Headers.ContainsKey("x-forwarded-client-cert"));
        Assert.Equal(
            [":authority", ":path", ":method", ":scheme", "accept", "x-forwarded-proto", "x-request-id"],
            headers.Headers.Keys);
    }

    [Fact]
    public void Each_build_is_a_new_stream()
    {
        var builder = EnvoyCheckRequest.Http("GET", "/");
        var first = Http(builder);
        var second = Http(builder);

        Assert.NotEqual(first.Id, second.Id);
        Assert.True(ulong.TryParse(first.Id, out _));
        Assert.NotEqual(first.Headers["x-request-id"], second.Headers["x-request-id"]);
    }

    [Fact]
    public void Host_defaults_leave_out_port_443_and_bracket_ipv6()
    {
        Assert.Equal("iot.example.com", Http(EnvoyCheckRequest.Http("GET", "/").WithSni("iot.example.com").WithListenerPort(443)).Host);
        Assert.Equal("[::1]:8443", Http(EnvoyCheckRequest.Http("GET", "/").WithListener(new IPEndPoint(IPAddress.IPv6Loopback, 8443))).Host);
        Assert.Equal("other.example.com", Http(EnvoyCheckRequest.Http("GET", "/").WithHeader("Host", "other.example.com")).Headers[":authority"]);
    }

    [Fact]
    public void Http2_orders_pseudo_headers_as_the_client_sends_them_and_names_the_protocol()
    {
        var http = Http(EnvoyCheckRequest.Http("GET", "/").WithProtocol(EnvoyHttpProtocol.Http2));

        Assert.Equal("HTTP/2", http.Protocol);
        Assert.Equal([":method", ":scheme", ":authority", ":path"], http.Headers.Keys.Take(4));
    }

    [Theory]
    [InlineData("connection", "keep-alive")]
    [InlineData("transfer-encoding", "chunked")]
    [InlineData("te", "gzip")]
    public void Http2_connection_specific_headers_get_no_check(string name, string value)
    {
        var builder = EnvoyCheckRequest.Http("GET", "/").WithProtocol(EnvoyHttpProtocol.Http2).WithHeader(name, value);

        var error = Assert.Throws<InvalidOperationException>(() => builder.Build());
        Assert.Contains(name, error.Message, StringComparison.Ordinal);
    }

    // Envoy's BasicHttpWithDuplicateHeaders.
    [Fact]
    public void Duplicate_headers_are_joined_with_a_comma_and_empty_values_are_kept()
    {
        var headers = Http(EnvoyCheckRequest.Http("GET", "/")
            .WithHeader("x-duplicate-header", "").WithHeader("x-duplicate-header", "foo").WithHeader("x-duplicate-header", "bar")
            .WithHeader("x-normal-header", "foo").WithHeader("x-empty-header", "")).Headers;

        Assert.Equal(",foo,bar", headers["x-duplicate-header"]);
        Assert.Equal("foo", headers["x-normal-header"]);
        Assert.Equal("", headers["x-empty-header"]);
    }

    // Envoy's BasicHttpWithPartialBody.
    [Fact]
    public void A_partial_body_is_cut_at_max_request_bytes_and_flagged()
    {
        var http = Http(EnvoyCheckRequest.Http("POST", "/topics/a").WithBody(Lorem).WithRequestBody(4049, allowPartialMessage: true));

        Assert.Equal(Lorem[..4049], http.Body);
        Assert.Equal("true", http.Headers["x-envoy-auth-partial-body"]);
        Assert.Equal(Lorem.Length, http.Size);
        Assert.Equal(Lorem.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), http.Headers["content-length"]);
    }

    // Envoy's BasicHttpWithFullBody.
    [Fact]
    public void A_full_body_is_flagged_as_not_partial()
    {
        var http = Http(EnvoyCheckRequest.Http("POST", "/topics/a").WithBody(Lorem).WithRequestBody((uint)Lorem.Length));

        Assert.Equal(Lorem, http.Body);
        Assert.Equal("false", http.Headers["x-envoy-auth-partial-body"]);
        Assert.Equal(Lorem.Length, http.Size);
    }

    [Fact]
    public void A_body_over_the_limit_without_partial_messages_gets_413_and_no_check()
    {
        var builder = EnvoyCheckRequest.Http("POST", "/topics/a").WithBody(Lorem).WithRequestBody(4049);

        var error = Assert.Throws<InvalidOperationException>(() => builder.Build());
        Assert.Contains("413", error.Message, StringComparison.Ordinal);
    }

    // Envoy's BasicHttpWithFullBodyPackAsBytes, and the string body's UTF-8 sanitizing.
    [Fact]
    public void Pack_as_bytes_sends_the_raw_body_and_the_string_body_is_sanitized()
    {
        var packed = Http(EnvoyCheckRequest.Http("POST", "/").WithBody([0xC0, 0xC0]).WithRequestBody(100, packAsBytes: true));
        var text = Http(EnvoyCheckRequest.Http("POST", "/").WithBody([0xC0, 0xC0]).WithRequestBody(100));

        Assert.Equal([0xC0, 0xC0], packed.RawBody.ToByteArray());
        Assert.Equal("", packed.Body);
        Assert.Equal("false", packed.Headers["x-envoy-auth-partial-body"]);
        Assert.Equal("!!", text.Body);
        Assert.True(text.RawBody.IsEmpty);
    }

    // Envoy's BasicHttpWithHeadersAsBytes.
    [Fact]
    public void Raw_headers_carry_bytes_unsanitized_in_header_map_and_leave_headers_empty()
    {
        var http = Http(EnvoyCheckRequest.Http("POST", "/").WithHeader("header-with-non-utf-8-value", [0xC0, 0xC0])
            .WithBody("x").WithRequestBody(100).EncodeRawHeaders());

        Assert.Empty(http.Headers);
        var raw = Assert.Single(http.HeaderMap.Headers, h => h.Key == "header-with-non-utf-8-value");
        Assert.Equal([0xC0, 0xC0], raw.RawValue.ToByteArray());
        Assert.Equal("", raw.Value);
        Assert.Equal("false", Assert.Single(http.HeaderMap.Headers, h => h.Key == "x-envoy-auth-partial-body").RawValue.ToStringUtf8());

        var map = Http(EnvoyCheckRequest.Http("GET", "/").WithHeader("header-with-non-utf-8-value", [0xC0, 0xC0]));
        Assert.Equal("!!", map.Headers["header-with-non-utf-8-value"]);
    }

    // Envoy's HeadersAsBytesNoConcatentation and HeadersAsBytesExistingPartialBodyHeader.
    [Fact]
    public void Raw_headers_are_not_concatenated_and_a_client_partial_body_header_is_dropped()
    {
        var http = Http(EnvoyCheckRequest.Http("GET", "/").EncodeRawHeaders()
            .WithHeader("foo-key", "foo value 1").WithHeader("foo-key", "foo value 2")
            .WithHeader("x-envoy-auth-partial-body", "downstream partial body header value"));

        Assert.Equal(["foo value 1", "foo value 2"], http.HeaderMap.Headers.Where(h => h.Key == "foo-key").Select(h => h.RawValue.ToStringUtf8()));
        Assert.DoesNotContain(http.HeaderMap.Headers, h => h.Key == "x-envoy-auth-partial-body");
    }

    [Fact]
    public void Envoys_inline_headers_are_merged_by_its_header_map_even_in_raw_mode()
    {
        var http = Http(EnvoyCheckRequest.Http("GET", "/").EncodeRawHeaders()
            .WithHeader("x-forwarded-for", "").WithHeader("x-forwarded-for", "198.51.100.1").WithHeader("x-forwarded-for", "198.51.100.2"));

        Assert.Equal("198.51.100.1,198.51.100.2", Assert.Single(http.HeaderMap.Headers, h => h.Key == "x-forwarded-for").RawValue.ToStringUtf8());
    }

    [Fact]
    public void Context_extensions_default_to_the_listener_port_and_can_be_changed_or_left_out()
    {
        Assert.Equal("443", EnvoyCheckRequest.Http("GET", "/").WithListenerPort(443).Build().Attributes.ContextExtensions[ContextExtensionKeys.Port]);

        var changed = EnvoyCheckRequest.Http("GET", "/").WithContextExtension(ContextExtensionKeys.Port, "8443")
            .WithContextExtension(ContextExtensionKeys.Plane, ContextExtensionKeys.DataPlane).WithListenerPort(443).Build().Attributes;
        Assert.Equal("8443", changed.ContextExtensions[ContextExtensionKeys.Port]);
        Assert.Equal("data", changed.ContextExtensions[ContextExtensionKeys.Plane]);
        Assert.Equal(443u, changed.Destination.Address.SocketAddress.PortValue);

        Assert.Empty(EnvoyCheckRequest.Http("GET", "/").WithoutContextExtension(ContextExtensionKeys.Port).Build().Attributes.ContextExtensions);
    }

    [Fact]
    public void Sanitize_set_writes_envoys_xfcc_element_in_place_of_a_clients()
    {
        using var server = Pki.Device("CN=envoy", sans: b => b.AddUri(new Uri("spiffe://example.com/envoy")));
        var attributes = EnvoyCheckRequest.Http("GET", "/").WithClientCertificate(uriDevice).WithListenerCertificate(server)
            .WithHeader("x-forwarded-client-cert", "Hash=forged").ForwardClientCert(ForwardClientCertDetails.SanitizeSet).IncludePeerCertificate(false)
            .Build().Attributes;
        var header = attributes.Request.Http.Headers["x-forwarded-client-cert"];

        Assert.Equal(ForwardedClientCert.Format(uriDevice, by: ["spiffe://example.com/envoy"]), header);
        Assert.StartsWith("By=spiffe://example.com/envoy;Hash=" + Pki.Id(uriDevice) + ";Cert=\"", header, StringComparison.Ordinal);
        var element = Assert.Single(ForwardedClientCert.Parse(header).Elements!);
        Assert.Equal(Pki.Id(uriDevice), EnvoyCertificate.Decode(element.Cert).Certificate!.Id);
        Assert.Equal(["spiffe://example.com/source"], element.Uri);
        Assert.Equal(["source.example.com"], element.Dns);
        Assert.Equal("", attributes.Source.Certificate);
        Assert.Equal(ContextExtensionKeys.XfccTrusted, attributes.ContextExtensions[ContextExtensionKeys.Xfcc]);
    }

    [Fact]
    public void Xfcc_follows_forward_client_cert_details()
    {
        string? Xfcc(ForwardClientCertDetails details, X509Certificate2? certificate) =>
            Http(EnvoyCheckRequest.Http("GET", "/").WithClientCertificate(certificate).WithHeader("x-forwarded-client-cert", "Hash=upstream")
                .ForwardClientCert(details)).Headers.TryGetValue("x-forwarded-client-cert", out var value) ? value : null;

        Assert.Null(Xfcc(ForwardClientCertDetails.Sanitize, uriDevice));
        Assert.Equal("Hash=upstream", Xfcc(ForwardClientCertDetails.ForwardOnly, uriDevice));
        Assert.Null(Xfcc(ForwardClientCertDetails.ForwardOnly, null));
        Assert.Equal("Hash=upstream", Xfcc(ForwardClientCertDetails.AlwaysForwardOnly, null));
        var appended = Xfcc(ForwardClientCertDetails.AppendForward, subjectOnly);
        Assert.Equal("Hash=upstream," + ForwardedClientCert.Format(subjectOnly), appended);
        Assert.Equal("CN=dev1,O=Acme,C=US", ForwardedClientCert.Parse(appended).Elements![1].Subject);
        Assert.Null(Xfcc(ForwardClientCertDetails.SanitizeSet, null));
    }

    [Fact]
    public void Without_use_remote_address_client_headers_are_kept_but_x_envoy_internal_is_never_believed()
    {
        var attributes = EnvoyCheckRequest.Http("GET", "/").WithSource(Client)
            .WithHeader("x-forwarded-for", "10.0.0.1").WithHeader("x-forwarded-proto", "http").WithHeader("x-request-id", "client-id")
            .WithHeader("x-envoy-internal", "true").WithHeader("x-envoy-downstream-service-cluster", "spoofed").WithHeader("x-envoy-retry-on", "5xx")
            .Build().Attributes;
        var headers = attributes.Request.Http.Headers;

        Assert.Equal("10.0.0.1", headers["x-forwarded-for"]);
        Assert.Equal("http", headers["x-forwarded-proto"]);
        Assert.Equal("http", headers[":scheme"]);
        Assert.Equal("client-id", headers["x-request-id"]);
        Assert.False(headers.ContainsKey("x-envoy-internal"));
        Assert.False(headers.ContainsKey("x-envoy-retry-on"));
        Assert.Equal("spoofed", attributes.Source.Service);
    }

    [Fact]
    public void Use_remote_address_appends_the_client_and_makes_an_edge_request()
    {
        var attributes = EnvoyCheckRequest.Http("GET", "/").WithSource(Client).UseRemoteAddress()
            .WithHeader("x-forwarded-for", "198.51.100.1").WithHeader("x-forwarded-proto", "http").WithHeader("x-request-id", "client-id")
            .WithHeader("x-envoy-downstream-service-cluster", "spoofed")
            .Build().Attributes;
        var headers = attributes.Request.Http.Headers;

        Assert.Equal("198.51.100.1,203.0.113.7", headers["x-forwarded-for"]);
        Assert.Equal("https", headers["x-forwarded-proto"]);
        Assert.Equal("203.0.113.7", headers["x-envoy-external-address"]);
        Assert.NotEqual("client-id", headers["x-request-id"]);
        Assert.False(headers.ContainsKey("x-envoy-downstream-service-cluster"));
        Assert.Equal("", attributes.Source.Service);
    }

    [Fact]
    public void Only_a_configured_internal_address_gets_x_envoy_internal()
    {
        var inside = new IPEndPoint(IPAddress.Parse("10.1.2.3"), 40000);

        var unconfigured = Http(EnvoyCheckRequest.Http("GET", "/").WithSource(inside).UseRemoteAddress()).Headers;
        Assert.False(unconfigured.ContainsKey("x-envoy-internal"));
        Assert.Equal("10.1.2.3", unconfigured["x-envoy-external-address"]);

        var configured = Http(EnvoyCheckRequest.Http("GET", "/").WithSource(inside).UseRemoteAddress().WithInternalAddresses(IPNetwork.Parse("10.0.0.0/8"))).Headers;
        Assert.Equal("true", configured["x-envoy-internal"]);
        Assert.Equal("10.1.2.3", configured["x-forwarded-for"]);
        Assert.False(configured.ContainsKey("x-envoy-external-address"));

        var relayed = Http(EnvoyCheckRequest.Http("GET", "/").WithSource(inside).UseRemoteAddress().WithInternalAddresses(IPNetwork.Parse("10.0.0.0/8"))
            .WithHeader("x-forwarded-for", "10.9.9.9")).Headers;
        Assert.False(relayed.ContainsKey("x-envoy-internal"));
    }

    [Fact]
    public void Websocket_upgrade_is_a_get_with_upgrade_headers_and_never_a_body()
    {
        var builder = EnvoyCheckRequest.WebSocket().WithClientCertificate(subjectOnly).WithSni("iot.example.com").WithRequestBody(100);
        var http = Http(builder);

        Assert.Equal("GET", http.Method);
        Assert.Equal("/mqtt", http.Path);
        Assert.Equal("websocket", http.Headers["upgrade"]);
        Assert.Equal("Upgrade", http.Headers["connection"]);
        Assert.Equal("13", http.Headers["sec-websocket-version"]);
        Assert.Equal("mqtt", http.Headers["sec-websocket-protocol"]);
        Assert.Equal(16, Convert.FromBase64String(http.Headers["sec-websocket-key"]).Length);
        Assert.False(http.Headers.ContainsKey("content-length"));
        Assert.False(http.Headers.ContainsKey("x-envoy-auth-partial-body"));
        Assert.Equal(0, http.Size);
        Assert.Throws<InvalidOperationException>(() => builder.WithBody("x"));
    }

    [Fact]
    public void Websocket_over_http2_arrives_in_the_http1_upgrade_form()
    {
        var http = Http(EnvoyCheckRequest.WebSocket("/mqtt?X-Amz-Date=20240101T000000Z").WithProtocol(EnvoyHttpProtocol.Http2));

        Assert.Equal("GET", http.Method);
        Assert.Equal("/mqtt?X-Amz-Date=20240101T000000Z", http.Path);
        Assert.Equal("websocket", http.Headers["upgrade"]);
        Assert.Equal("upgrade", http.Headers["connection"]);
        Assert.False(http.Headers.ContainsKey(":protocol"));
        Assert.False(http.Headers.ContainsKey("sec-websocket-key"));
    }

    [Fact]
    public void A_plain_request_loses_connection_and_upgrade_headers()
    {
        var headers = Http(EnvoyCheckRequest.Http("GET", "/").WithHeader("connection", "keep-alive").WithHeader("keep-alive", "timeout=5")
            .WithHeader("upgrade", "h2c")).Headers;

        Assert.False(headers.ContainsKey("connection"));
        Assert.False(headers.ContainsKey("keep-alive"));
        Assert.False(headers.ContainsKey("upgrade"));
    }

    [Fact]
    public void The_network_form_refuses_http_options()
    {
        var network = EnvoyCheckRequest.Network();

        Assert.Throws<InvalidOperationException>(() => network.WithHeader("a", "b"));
        Assert.Throws<InvalidOperationException>(() => network.WithContextExtension(ContextExtensionKeys.Port, "8883"));
        Assert.Throws<InvalidOperationException>(() => network.WithBody("x"));
    }

    [Theory]
    [InlineData("topics/a")]
    [InlineData("/a b")]
    [InlineData("/a#frag")]
    public void Malformed_paths_are_refused(string path) =>
        Assert.Throws<ArgumentException>(() => EnvoyCheckRequest.Http("GET", path));

    [Fact]
    public void Malformed_headers_are_refused()
    {
        var builder = EnvoyCheckRequest.Http("GET", "/");

        Assert.Throws<ArgumentException>(() => builder.WithHeader("bad name", "v"));
        Assert.Throws<ArgumentException>(() => builder.WithHeader(":path", "/x"));
        Assert.Throws<ArgumentException>(() => builder.WithHeader("x", "a\r\nb"));
        Assert.Throws<ArgumentException>(() => EnvoyCheckRequest.Http("GE T", "/"));
    }

    [Fact]
    public void Built_requests_round_trip_on_the_wire()
    {
        foreach (var builder in new[]
        {
            EnvoyCheckRequest.Network().WithClientCertificate(uriDevice).WithSni("iot.example.com").IncludeTlsSession(),
            EnvoyCheckRequest.Http("POST", "/topics/a").WithClientCertificate(subjectOnly).WithBody(Encoding.UTF8.GetBytes("{}")).WithRequestBody(10, packAsBytes: true),
            EnvoyCheckRequest.WebSocket().EncodeRawHeaders(),
        })
        {
            var request = builder.Build();
            Assert.Equal(request, CheckRequest.Parser.ParseFrom(request.ToByteArray()));
        }
    }
}
