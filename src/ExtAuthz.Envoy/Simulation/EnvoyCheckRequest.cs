using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Envoy.Config.Core.V3;
using Envoy.Service.Auth.V3;
using ExtAuthz.Identity.X509;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace ExtAuthz.Envoy.Simulation;

/// <summary>Which Envoy filter sends the Check.</summary>
public enum EnvoyCheckForm
{
    /// <summary>The network ext_authz filter (MQTT on 8883): once per connection, no <c>attributes.request</c>.</summary>
    Network,

    /// <summary>The HTTP ext_authz filter (443, 8443): once per request.</summary>
    Http,

    /// <summary>The HTTP filter on a WebSocket upgrade (<c>GET /mqtt</c>): checked on the headers, never with a body.</summary>
    WebSocket,
}

/// <summary>The downstream protocol, as <c>attributes.request.http.protocol</c> names it.</summary>
public enum EnvoyHttpProtocol
{
    Http11,
    Http2,
}

/// <summary>The HTTP connection manager's <c>forward_client_cert_details</c>: what happens to <c>x-forwarded-client-cert</c>.</summary>
public enum ForwardClientCertDetails
{
    /// <summary>Envoy's default: the header is removed.</summary>
    Sanitize,

    /// <summary>A client's header passes on mutual TLS; removed otherwise.</summary>
    ForwardOnly,

    /// <summary>Envoy appends its element (<c>,</c>) to a client's header, on mutual TLS.</summary>
    AppendForward,

    /// <summary>Envoy replaces any client header with its own element, on mutual TLS.</summary>
    SanitizeSet,

    /// <summary>A client's header always passes, untouched.</summary>
    AlwaysForwardOnly,
}

/// <summary>
/// Makes CheckRequests exactly as Envoy builds them (docs: the reference's §1, 4.2, 6, 7), for the
/// <c>check</c> command, tests and load generators. It models one TLS connection (client and listener
/// addresses, client and listener certificates, SNI), the ext_authz filter's settings
/// (<c>include_peer_certificate</c>, default true here; <c>include_tls_session</c>; <c>with_request_body</c>;
/// <c>encode_raw_headers</c>; the route's <c>context_extensions</c>), the HTTP connection manager's
/// header handling before any filter (defaults as Envoy's: <c>use_remote_address: false</c>, no
/// <c>internal_address_config</c>, <c>forward_client_cert_details: SANITIZE</c>) and the client's
/// request. The network form sends peers, SNI and the TLS session only; the HTTP and WebSocket forms
/// add <c>attributes.request</c>, <c>context_extensions</c> (by default <c>port</c> = the listener's port,
/// and <c>xfcc: trusted</c> under <see cref="ForwardClientCertDetails.SanitizeSet"/>, as our Envoy
/// configuration sets them) and empty <c>metadata_context</c> and <c>route_metadata_context</c>.
/// Each <see cref="Build"/> is a new stream: a new stream ID, start time and <c>x-request-id</c>
/// unless fixed. The builder keeps references to the certificates it is given and does not dispose them.
/// </summary>
public sealed class EnvoyCheckRequest
{
    public const int MqttPort = 8883;
    public const int HttpsPort = 443;
    public const int MtlsPort = 8443;

    private const string PartialBodyHeader = "x-envoy-auth-partial-body";
    private const string ForwardedClientCertHeader = "x-forwarded-client-cert";
    private const string ForwardedForHeader = "x-forwarded-for";
    private const string ForwardedProtoHeader = "x-forwarded-proto";
    private const string RequestIdHeader = "x-request-id";
    private const string DownstreamServiceClusterHeader = "x-envoy-downstream-service-cluster";

    /// <summary>
    /// Envoy's built-in O(1) request headers (<c>INLINE_REQ_HEADERS</c>, <c>INLINE_REQ_RESP_HEADERS</c> in
    /// <c>source/common/http/headers.h</c>): its header map merges a repeated one into its first entry
    /// with <c>,</c> as the codec inserts it, so even <c>header_map</c> shows them once. Inline headers an
    /// extension registers at startup vary with the build and are not modelled.
    /// </summary>
    private static readonly HashSet<string> InlineHeaders = new(StringComparer.Ordinal)
    {
        ":authority", ":method", ":path", ":protocol", ":scheme",
        "connection", "content-length", "content-type", "expect", "grpc-timeout", "keep-alive", "proxy-connection", "proxy-status",
        "te", "transfer-encoding", "upgrade", "user-agent", "via", "x-client-trace-id", ForwardedClientCertHeader, ForwardedForHeader,
        "x-forwarded-host", ForwardedProtoHeader, RequestIdHeader, "x-envoy-attempt-count", "x-envoy-decorator-operation",
        DownstreamServiceClusterHeader, "x-envoy-downstream-service-node", "x-envoy-expected-rq-timeout-ms", "x-envoy-external-address",
        "x-envoy-force-trace", "x-envoy-hedge-on-per-try-timeout", "x-envoy-internal", "x-envoy-ip-tags", "x-envoy-max-retries",
        "x-envoy-original-path", "x-envoy-original-url", "x-envoy-retriable-header-names", "x-envoy-retriable-status-codes",
        "x-envoy-retry-grpc-on", "x-envoy-retry-on", "x-envoy-upstream-alt-stat-name", "x-envoy-upstream-rq-per-try-timeout-ms",
        "x-envoy-upstream-rq-timeout-alt-response", "x-envoy-upstream-rq-timeout-ms", "x-envoy-upstream-stream-duration-ms",
    };

    /// <summary>What <c>cleanInternalHeaders</c> removes from every request that is not internal.</summary>
    private static readonly string[] InternalOnlyHeaders =
    [
        "x-envoy-retriable-status-codes", "x-envoy-retriable-header-names", "x-envoy-retry-on", "x-envoy-retry-grpc-on",
        "x-envoy-max-retries", "x-envoy-upstream-alt-stat-name", "x-envoy-upstream-rq-timeout-ms",
        "x-envoy-upstream-rq-per-try-timeout-ms", "x-envoy-upstream-rq-timeout-alt-response", "x-envoy-expected-rq-timeout-ms",
        "x-envoy-force-trace", "x-envoy-ip-tags", "x-envoy-original-url", "x-envoy-hedge-on-per-try-timeout",
    ];

    /// <summary>What <c>cleanInternalHeaders</c> also removes from an edge request.</summary>
    private static readonly string[] EdgeOnlyHeaders = ["x-envoy-decorator-operation", DownstreamServiceClusterHeader, "x-envoy-downstream-service-node"];

    /// <summary>Connection-specific headers HTTP/2 forbids (RFC 9113 §8.2.2); Envoy's codec resets such a stream.</summary>
    private static readonly string[] Http2ForbiddenHeaders = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"];

    private readonly List<(string Name, byte[] Value)> headers = [];
    private readonly Dictionary<string, string?> contextExtensions = new(StringComparer.Ordinal);
    private readonly string method;
    private readonly string path;
    private IPEndPoint source;
    private IPEndPoint listener;
    private X509Certificate2? clientCertificate;
    private string clientPrincipal = "";
    private string clientEncoded = "";
    private string? forwardedClientCert;
    private IReadOnlyList<string> listenerUriSans = [];
    private string listenerPrincipal = "";
    private string? sni;
    private string? host;
    private bool includePeerCertificate = true;
    private bool includeTlsSession;
    private bool encodeRawHeaders;
    private bool useRemoteAddress;
    private IPNetwork[] internalAddresses = [];
    private ForwardClientCertDetails forwardClientCert = ForwardClientCertDetails.Sanitize;
    private EnvoyHttpProtocol protocol = EnvoyHttpProtocol.Http11;
    private byte[] body = [];
    private (uint MaxBytes, bool AllowPartial, bool PackAsBytes)? withRequestBody;
    private ulong? streamId;
    private DateTimeOffset? startTime;

    private EnvoyCheckRequest(EnvoyCheckForm form, string method, string path, int port)
    {
        Form = form;
        this.method = method;
        this.path = path;
        listener = new IPEndPoint(IPAddress.Loopback, port);

        // A client's connection comes from an ephemeral port (Linux's default range).
        source = new IPEndPoint(IPAddress.Loopback, RandomNumberGenerator.GetInt32(32768, 61000));
    }

    public EnvoyCheckForm Form { get; }

    /// <summary>The client's address (<c>source.address</c>); by default 127.0.0.1 and an ephemeral port.</summary>
    public IPEndPoint Source => source;

    /// <summary>The listener's address (<c>destination.address</c>); by default 127.0.0.1 and the form's port.</summary>
    public IPEndPoint Listener => listener;

    /// <summary>A connection to the MQTT listener (8883), as the network ext_authz filter checks it on its first bytes.</summary>
    public static EnvoyCheckRequest Network() => new(EnvoyCheckForm.Network, "", "", MqttPort);

    /// <summary>An HTTP request to the mutual-TLS listener (8443 unless <see cref="WithListener"/> says otherwise).</summary>
    /// <param name="method">The method, as sent (methods are case-sensitive).</param>
    /// <param name="path">The request target, raw, with its query string.</param>
    public static EnvoyCheckRequest Http(string method, string path)
    {
        ValidateToken(method, "method");
        ValidatePath(path);
        return new(EnvoyCheckForm.Http, method, path, MtlsPort);
    }

    /// <summary>An MQTT-over-WebSocket upgrade (<c>GET</c>, subprotocol <c>mqtt</c>) to 8443 unless <see cref="WithListener"/> says otherwise.</summary>
    public static EnvoyCheckRequest WebSocket(string path = "/mqtt")
    {
        ValidatePath(path);
        return new(EnvoyCheckForm.WebSocket, "GET", path, MtlsPort);
    }

    public EnvoyCheckRequest WithSource(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        source = endPoint;
        return this;
    }

    /// <summary>The listener's address; its port is also the default <c>port</c> context extension.</summary>
    public EnvoyCheckRequest WithListener(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        listener = endPoint;
        return this;
    }

    public EnvoyCheckRequest WithListenerPort(int port) => WithListener(new IPEndPoint(listener.Address, port));

    /// <summary>The certificate the client presented (null: none). Sets <c>source.principal</c>, <c>source.certificate</c> and XFCC.</summary>
    public EnvoyCheckRequest WithClientCertificate(X509Certificate2? certificate)
    {
        clientCertificate = certificate;
        clientPrincipal = certificate is null ? "" : EnvoyPrincipal.Of(certificate);
        clientEncoded = certificate is null ? "" : EnvoyCertificate.Encode(certificate);
        forwardedClientCert = null;
        return this;
    }

    /// <summary>Envoy's own certificate on the listener (null: none given). Sets <c>destination.principal</c> and XFCC's <c>By</c>.</summary>
    public EnvoyCheckRequest WithListenerCertificate(X509Certificate2? certificate)
    {
        listenerPrincipal = certificate is null ? "" : EnvoyPrincipal.Of(certificate);
        listenerUriSans = certificate is null ? [] : EnvoyPrincipal.UriSans(certificate);
        forwardedClientCert = null;
        return this;
    }

    /// <summary>The TLS server name the client asked for: the network form's <c>destination.service</c>, <c>tls_session.sni</c>, and the default host.</summary>
    public EnvoyCheckRequest WithSni(string? serverName)
    {
        sni = string.IsNullOrEmpty(serverName) ? null : serverName;
        return this;
    }

    /// <summary>ext_authz <c>include_peer_certificate</c> (true unless set otherwise).</summary>
    public EnvoyCheckRequest IncludePeerCertificate(bool include = true)
    {
        includePeerCertificate = include;
        return this;
    }

    /// <summary>ext_authz <c>include_tls_session</c> (false unless set).</summary>
    public EnvoyCheckRequest IncludeTlsSession(bool include = true)
    {
        includeTlsSession = include;
        return this;
    }

    /// <summary>
    /// ext_authz <c>with_request_body</c>: the body is buffered and sent (its first
    /// <paramref name="maxRequestBytes"/> bytes); without <paramref name="allowPartialMessage"/> a longer
    /// body makes Envoy answer 413 itself, so <see cref="Build"/> throws.
    /// </summary>
    public EnvoyCheckRequest WithRequestBody(uint maxRequestBytes, bool allowPartialMessage = false, bool packAsBytes = false)
    {
        RequireHttp(nameof(WithRequestBody));
        ArgumentOutOfRangeException.ThrowIfZero(maxRequestBytes);
        withRequestBody = (maxRequestBytes, allowPartialMessage, packAsBytes);
        return this;
    }

    /// <summary>ext_authz <c>encode_raw_headers</c>: <c>header_map</c> entries (raw bytes, not merged) instead of the <c>headers</c> map.</summary>
    public EnvoyCheckRequest EncodeRawHeaders(bool encode = true)
    {
        RequireHttp(nameof(EncodeRawHeaders));
        encodeRawHeaders = encode;
        return this;
    }

    /// <summary>Sets a context extension, as the route would (replacing a default).</summary>
    public EnvoyCheckRequest WithContextExtension(string key, string value)
    {
        RequireHttp(nameof(WithContextExtension));
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        contextExtensions[key] = value;
        return this;
    }

    /// <summary>Leaves a context extension out, a default one too.</summary>
    public EnvoyCheckRequest WithoutContextExtension(string key)
    {
        RequireHttp(nameof(WithoutContextExtension));
        ArgumentException.ThrowIfNullOrEmpty(key);
        contextExtensions[key] = null;
        return this;
    }

    /// <summary>The connection manager's <c>forward_client_cert_details</c>, with <c>set_current_client_cert_details</c> { cert, subject, uri, dns }.</summary>
    public EnvoyCheckRequest ForwardClientCert(ForwardClientCertDetails details)
    {
        RequireHttp(nameof(ForwardClientCert));
        forwardClientCert = details;
        return this;
    }

    /// <summary>
    /// The connection manager's <c>use_remote_address</c> (with <c>xff_num_trusted_hops: 0</c>): Envoy
    /// appends the client's address to <c>x-forwarded-for</c> (for a loopback client, its own address,
    /// taken here as the listener's), overwrites <c>x-forwarded-proto</c>, and treats a request that is
    /// not internal as an edge request (<c>x-envoy-external-address</c>, a fresh <c>x-request-id</c>).
    /// </summary>
    public EnvoyCheckRequest UseRemoteAddress(bool use = true)
    {
        RequireHttp(nameof(UseRemoteAddress));
        useRemoteAddress = use;
        return this;
    }

    /// <summary>
    /// The connection manager's <c>internal_address_config.cidr_ranges</c>. Without it (Envoy 1.36 on)
    /// no address is internal, so Envoy never writes <c>x-envoy-internal</c>.
    /// </summary>
    public EnvoyCheckRequest WithInternalAddresses(params IPNetwork[] ranges)
    {
        RequireHttp(nameof(WithInternalAddresses));
        ArgumentNullException.ThrowIfNull(ranges);
        internalAddresses = [.. ranges];
        return this;
    }

    public EnvoyCheckRequest WithProtocol(EnvoyHttpProtocol httpProtocol)
    {
        RequireHttp(nameof(WithProtocol));
        protocol = httpProtocol;
        return this;
    }

    /// <summary>The authority (<c>Host</c> / <c>:authority</c>); by default the SNI, else the listener's address, with <c>:port</c> unless 443.</summary>
    public EnvoyCheckRequest WithHost(string authority)
    {
        RequireHttp(nameof(WithHost));
        if (string.IsNullOrEmpty(authority) || authority.Any(c => c <= ' ' || c == '\x7f'))
        {
            throw new ArgumentException($"'{authority}' is not a host: it is empty or holds spaces or control characters", nameof(authority));
        }

        host = authority;
        return this;
    }

    /// <summary>
    /// A request header as the client sends it (repeat a name to send it several times). The name is
    /// lower-cased, as Envoy keys headers; the value loses surrounding spaces and tabs, as HTTP parsing
    /// does. <c>host</c> sets <see cref="WithHost"/>; pseudo-headers come from the method, path and host.
    /// </summary>
    public EnvoyCheckRequest WithHeader(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return WithHeader(name, Encoding.UTF8.GetBytes(value));
    }

    /// <summary>A request header whose value is raw bytes (which need not be UTF-8).</summary>
    public EnvoyCheckRequest WithHeader(string name, byte[] value)
    {
        RequireHttp(nameof(WithHeader));
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        if (name.StartsWith(':'))
        {
            throw new ArgumentException($"'{name}' is a pseudo-header: Envoy derives it from the method, path and host", nameof(name));
        }

        ValidateToken(name, "header name");
        if (value.AsSpan().IndexOfAny((byte)0, (byte)'\r', (byte)'\n') >= 0)
        {
            throw new ArgumentException($"the value of header '{name}' holds NUL, CR or LF, which HTTP cannot carry", nameof(value));
        }

        var key = name.ToLowerInvariant();
        var trimmed = value.AsSpan().Trim(" \t"u8).ToArray();
        if (key == "host")
        {
            return WithHost(Encoding.UTF8.GetString(trimmed));
        }

        headers.Add((key, trimmed));
        return this;
    }

    /// <summary>The request body. It reaches the Check only with <see cref="WithRequestBody"/>; without, Envoy checks on the headers (size 0).</summary>
    public EnvoyCheckRequest WithBody(byte[] content)
    {
        RequireHttp(nameof(WithBody));
        ArgumentNullException.ThrowIfNull(content);
        if (Form == EnvoyCheckForm.WebSocket)
        {
            throw new InvalidOperationException("a WebSocket upgrade has no body: Envoy checks it on its headers");
        }

        body = [.. content];
        return this;
    }

    /// <summary>The request body as UTF-8 text.</summary>
    public EnvoyCheckRequest WithBody(string content)
    {
        ArgumentNullException.ThrowIfNull(content);
        return WithBody(Encoding.UTF8.GetBytes(content));
    }

    /// <summary>Fixes <c>request.http.id</c> (Envoy's 64-bit stream ID), random by default.</summary>
    public EnvoyCheckRequest WithStreamId(ulong id)
    {
        RequireHttp(nameof(WithStreamId));
        streamId = id;
        return this;
    }

    /// <summary>Fixes <c>request.time</c> (when the stream's first byte arrived), now by default.</summary>
    public EnvoyCheckRequest WithStartTime(DateTimeOffset time)
    {
        RequireHttp(nameof(WithStartTime));
        startTime = time;
        return this;
    }

    /// <summary>The CheckRequest Envoy sends for this connection or request.</summary>
    /// <exception cref="InvalidOperationException">Envoy would answer the client itself and send no Check (413, or an HTTP/2 protocol error).</exception>
    public CheckRequest Build()
    {
        var attributes = new AttributeContext
        {
            Source = new AttributeContext.Types.Peer { Address = Address(source), Principal = clientPrincipal },
            Destination = new AttributeContext.Types.Peer { Address = Address(listener), Principal = listenerPrincipal },
        };
        if (includePeerCertificate)
        {
            attributes.Source.Certificate = clientEncoded;
        }

        if (Form == EnvoyCheckForm.Network)
        {
            attributes.Destination.Service = sni ?? "";
        }
        else
        {
            BuildHttp(attributes);
        }

        if (includeTlsSession)
        {
            attributes.TlsSession = new AttributeContext.Types.TLSSession { Sni = sni ?? "" };
        }

        return new CheckRequest { Attributes = attributes };
    }

    private void BuildHttp(AttributeContext attributes)
    {
        var map = ClientHeaders();
        MutateRequestHeaders(map);

        // The filter buffers only a request that has a body and is not a WebSocket upgrade.
        var webSocket = IsUpgrade(map) && string.Equals(map.Get("upgrade"), "websocket", StringComparison.OrdinalIgnoreCase);
        var buffered = withRequestBody is { } settings && body.Length > 0 && !webSocket ? settings : default((uint MaxBytes, bool AllowPartial, bool PackAsBytes)?);
        if (buffered is { AllowPartial: false } strict && body.Length > strict.MaxBytes)
        {
            throw new InvalidOperationException(
                $"the body is {body.Length} bytes, over with_request_body.max_request_bytes ({strict.MaxBytes}) without allow_partial_message: Envoy answers 413 itself and sends no Check");
        }

        var http = new AttributeContext.Types.HttpRequest
        {
            Id = (streamId ?? BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(sizeof(ulong)))).ToString(CultureInfo.InvariantCulture),
            Method = map.Sanitized(":method"),
            Path = map.Sanitized(":path"),
            Host = map.Sanitized(":authority"),
            Scheme = map.Sanitized(":scheme"),
            Protocol = protocol == EnvoyHttpProtocol.Http2 ? "HTTP/2" : "HTTP/1.1",

            // bytesReceived: on the headers nothing of the body has been counted; buffered, all of it (one read).
            Size = buffered is null ? 0 : body.Length,
        };
        if (encodeRawHeaders)
        {
            http.HeaderMap = new HeaderMap();
        }

        foreach (var (name, value) in map.Entries)
        {
            // A client's own copy never reaches the service: Envoy reserves this header for itself.
            if (name == PartialBodyHeader)
            {
                continue;
            }

            if (encodeRawHeaders)
            {
                http.HeaderMap!.Headers.Add(new HeaderValue { Key = name, RawValue = ByteString.CopyFrom(value) });
            }
            else
            {
                var sanitized = EnvoyPrincipal.SanitizeUtf8(value);
                http.Headers[name] = http.Headers.TryGetValue(name, out var merged) ? merged + "," + sanitized : sanitized;
            }
        }

        if (buffered is { } buffer)
        {
            var length = (int)Math.Min(body.Length, buffer.MaxBytes);
            if (buffer.PackAsBytes)
            {
                http.RawBody = ByteString.CopyFrom(body, 0, length);
            }
            else
            {
                http.Body = EnvoyPrincipal.SanitizeUtf8(body.AsSpan(0, length));
            }

            var partial = length != body.Length ? "true" : "false";
            if (encodeRawHeaders)
            {
                http.HeaderMap!.Headers.Add(new HeaderValue { Key = PartialBodyHeader, RawValue = ByteString.CopyFromUtf8(partial) });
            }
            else
            {
                http.Headers[PartialBodyHeader] = partial;
            }
        }

        attributes.Request = new AttributeContext.Types.Request
        {
            Time = Timestamp.FromDateTimeOffset(startTime ?? DateTimeOffset.UtcNow),
            Http = http,
        };
        if (map.Sanitized(DownstreamServiceClusterHeader) is { Length: > 0 } service)
        {
            attributes.Source.Service = service;
        }

        attributes.ContextExtensions.Add(ContextExtensions());
        attributes.MetadataContext = new Metadata();
        attributes.RouteMetadataContext = new Metadata();
    }

    private Dictionary<string, string> ContextExtensions()
    {
        var extensions = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ContextExtensionKeys.Port] = listener.Port.ToString(CultureInfo.InvariantCulture),
        };
        if (forwardClientCert == ForwardClientCertDetails.SanitizeSet)
        {
            extensions[ContextExtensionKeys.Xfcc] = ContextExtensionKeys.XfccTrusted;
        }

        foreach (var (key, value) in contextExtensions)
        {
            if (value is null)
            {
                extensions.Remove(key);
            }
            else
            {
                extensions[key] = value;
            }
        }

        return extensions;
    }

    /// <summary>The header map as the codec hands it to the connection manager.</summary>
    private HeaderList ClientHeaders()
    {
        var map = new HeaderList();
        var authority = host ?? DefaultAuthority();
        var http2 = protocol == EnvoyHttpProtocol.Http2;
        if (http2)
        {
            foreach (var (name, value) in headers)
            {
                if (Http2ForbiddenHeaders.Contains(name) || name == "te" && !"trailers"u8.SequenceEqual(value))
                {
                    throw new InvalidOperationException($"HTTP/2 forbids the connection-specific header '{name}': Envoy's codec resets the stream and sends no Check");
                }
            }

            map.Add(":method", method);
            map.Add(":scheme", "https");
            map.Add(":authority", authority);
            map.Add(":path", path);
        }
        else
        {
            // HTTP/1: the Host line becomes :authority; :scheme is the connection manager's to set.
            map.Add(":authority", authority);
            map.Add(":path", path);
            map.Add(":method", method);
        }

        if (Form == EnvoyCheckForm.WebSocket && !http2)
        {
            AddUnlessGiven(map, "upgrade", "websocket");
            AddUnlessGiven(map, "connection", "Upgrade");
            AddUnlessGiven(map, "sec-websocket-key", Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)));
        }

        if (Form == EnvoyCheckForm.WebSocket)
        {
            AddUnlessGiven(map, "sec-websocket-version", "13");
            AddUnlessGiven(map, "sec-websocket-protocol", "mqtt");
        }

        foreach (var (name, value) in headers)
        {
            map.Add(name, value);
        }

        if (body.Length > 0 && !map.Contains("content-length") && !map.Contains("transfer-encoding"))
        {
            map.Add("content-length", body.Length.ToString(CultureInfo.InvariantCulture));
        }

        if (Form == EnvoyCheckForm.WebSocket && http2)
        {
            // RFC 8441's extended CONNECT (:protocol websocket), as Envoy's HTTP/2 codec turns it into
            // the HTTP/1 upgrade form before any filter runs.
            map.Set("upgrade", "websocket");
            map.Set("connection", "upgrade");
        }

        return map;
    }

    private void AddUnlessGiven(HeaderList map, string name, string value)
    {
        if (!headers.Exists(h => h.Name == name))
        {
            map.Add(name, value);
        }
    }

    /// <summary>What the connection manager does to the headers before any filter (<c>mutateRequestHeaders</c>).</summary>
    private void MutateRequestHeaders(HeaderList map)
    {
        if (!IsUpgrade(map))
        {
            map.Remove("connection");
            map.Remove("upgrade");
        }

        map.Remove("x-envoy-internal");
        map.Remove("keep-alive");
        map.Remove("proxy-connection");
        map.Remove("transfer-encoding");
        var referers = map.All("referer");
        if (referers.Count > 1 || referers.Count == 1 && !IsAbsoluteUrl(referers[0]))
        {
            map.Remove("referer");
        }

        IPAddress? remote;
        bool allowTrustedAddressChecks;
        if (useRemoteAddress)
        {
            allowTrustedAddressChecks = !map.Contains(ForwardedForHeader);
            remote = source.Address;
            map.Append(ForwardedForHeader, (IPAddress.IsLoopback(source.Address) ? listener.Address : source.Address).ToString());
            map.Set(ForwardedProtoHeader, "https");
        }
        else
        {
            (remote, allowTrustedAddressChecks) = LastForwardedFor(map.Get(ForwardedForHeader));
        }

        if (!map.Contains(ForwardedProtoHeader))
        {
            map.Set(ForwardedProtoHeader, "https");
        }

        if (!map.Contains(":scheme"))
        {
            var forwardedProto = map.Get(ForwardedProtoHeader);
            map.Set(":scheme", forwardedProto is not null && (forwardedProto.Equals("http", StringComparison.OrdinalIgnoreCase) || forwardedProto.Equals("https", StringComparison.OrdinalIgnoreCase))
                ? forwardedProto
                : "https");
        }

        var internalRequest = allowTrustedAddressChecks && remote is not null && internalAddresses.Any(range => range.Contains(remote));
        var edgeRequest = !internalRequest && useRemoteAddress;
        if (internalRequest)
        {
            map.Set("x-envoy-internal", "true");
        }
        else
        {
            foreach (var name in edgeRequest ? EdgeOnlyHeaders.Concat(InternalOnlyHeaders) : InternalOnlyHeaders)
            {
                map.Remove(name);
            }
        }

        if (edgeRequest)
        {
            map.Set("x-envoy-external-address", remote!.ToString());
        }

        if (edgeRequest || !map.Contains(RequestIdHeader))
        {
            map.Set(RequestIdHeader, Guid.NewGuid().ToString());
        }

        MutateForwardedClientCert(map);
    }

    /// <summary><c>mutateXfccRequestHeader</c>.</summary>
    private void MutateForwardedClientCert(HeaderList map)
    {
        if (forwardClientCert == ForwardClientCertDetails.AlwaysForwardOnly)
        {
            return;
        }

        if (forwardClientCert == ForwardClientCertDetails.Sanitize || clientCertificate is null)
        {
            map.Remove(ForwardedClientCertHeader);
            return;
        }

        if (forwardClientCert == ForwardClientCertDetails.ForwardOnly)
        {
            return;
        }

        forwardedClientCert ??= ForwardedClientCert.Format(clientCertificate, by: listenerUriSans);
        if (forwardClientCert == ForwardClientCertDetails.AppendForward)
        {
            map.Append(ForwardedClientCertHeader, forwardedClientCert);
        }
        else
        {
            map.Set(ForwardedClientCertHeader, forwardedClientCert);
        }
    }

    private string DefaultAuthority()
    {
        var name = sni ?? (listener.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{listener.Address}]" : listener.Address.ToString());
        return listener.Port == HttpsPort ? name : $"{name}:{listener.Port.ToString(CultureInfo.InvariantCulture)}";
    }

    private void RequireHttp(string option)
    {
        if (Form == EnvoyCheckForm.Network)
        {
            throw new InvalidOperationException($"{option} applies to the HTTP ext_authz filter; the network filter sends no HTTP request and no context extensions");
        }
    }

    private static Address Address(IPEndPoint endPoint) => new()
    {
        SocketAddress = new global::Envoy.Config.Core.V3.SocketAddress { Address = endPoint.Address.ToString(), PortValue = (uint)endPoint.Port },
    };

    /// <summary><c>Utility::isUpgrade</c>: a <c>connection</c> header with the token <c>upgrade</c>, and an <c>upgrade</c> header.</summary>
    private static bool IsUpgrade(HeaderList map) =>
        map.Contains("upgrade") && map.Get("connection") is { } connection
        && connection.Split(',').Any(token => token.Trim().Equals("upgrade", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// <c>getLastAddressFromXFF</c>: the address after the last comma (trimmed) if it is an IP literal,
    /// and whether it is the only one (only then may it make the request internal).
    /// </summary>
    private static (IPAddress? Address, bool Single) LastForwardedFor(string? forwardedFor)
    {
        if (forwardedFor is null)
        {
            return (null, false);
        }

        var comma = forwardedFor.LastIndexOf(',');
        var last = comma >= 0 && comma + 1 < forwardedFor.Length ? forwardedFor[(comma + 1)..] : forwardedFor;
        return ParseIpLiteral(last.Trim()) is { } address ? (address, comma < 0) : (null, false);
    }

    /// <summary>An address as <c>inet_pton</c> reads it: dotted-quad IPv4 without leading zeros, or IPv6 without a zone or brackets.</summary>
    private static IPAddress? ParseIpLiteral(string text)
    {
        if (text.Contains(':', StringComparison.Ordinal))
        {
            return !text.Contains('%', StringComparison.Ordinal) && !text.Contains('[', StringComparison.Ordinal)
                && IPAddress.TryParse(text, out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6 ? v6 : null;
        }

        var parts = text.Split('.');
        if (parts.Length != 4 || parts.Any(p => p.Length is 0 or > 3 || !p.All(char.IsAsciiDigit) || p.Length > 1 && p[0] == '0' || int.Parse(p, CultureInfo.InvariantCulture) > 255))
        {
            return null;
        }

        return IPAddress.Parse(text);
    }

    private static bool IsAbsoluteUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var url) && !string.IsNullOrEmpty(url.Host);

    private static void ValidateToken(string value, string what)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length == 0 || value.Any(c => c > '~' || c <= ' ' || "\"(),/:;<=>?@[\\]{}".Contains(c, StringComparison.Ordinal)))
        {
            throw new ArgumentException($"'{value}' is not a valid HTTP {what}", what == "method" ? "method" : "name");
        }
    }

    private static void ValidatePath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!path.StartsWith('/') || path.Any(c => c <= ' ' || c == '\x7f'))
        {
            throw new ArgumentException($"'{path}' is not a request path: it must start with '/' and hold no spaces or control characters", nameof(path));
        }

        if (path.Contains('#', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{path}' holds a fragment: clients never send one, and Envoy refuses such a path", nameof(path));
        }
    }

    /// <summary>
    /// Envoy's request header map: pseudo-headers before the others, each in insertion order, and
    /// inline headers merged on insertion (<c>HeaderMapImpl::insertByKey</c> / <c>appendToHeader</c>:
    /// an empty value adds nothing, a <c>,</c> only between non-empty values).
    /// </summary>
    private sealed class HeaderList
    {
        private readonly List<(string Name, byte[] Value)> entries = [];
        private int pseudoCount;

        public IReadOnlyList<(string Name, byte[] Value)> Entries => entries;

        public bool Contains(string name) => IndexOf(name) >= 0;

        public string? Get(string name) => IndexOf(name) is var at and >= 0 ? Encoding.UTF8.GetString(entries[at].Value) : null;

        /// <summary><c>getHeaderStr</c>: the first entry's value, invalid UTF-8 as <c>!</c>; empty when absent.</summary>
        public string Sanitized(string name) => IndexOf(name) is var at and >= 0 ? EnvoyPrincipal.SanitizeUtf8(entries[at].Value) : "";

        public List<string> All(string name) => entries.Where(e => e.Name == name).Select(e => Encoding.UTF8.GetString(e.Value)).ToList();

        public void Add(string name, string value) => Add(name, Encoding.UTF8.GetBytes(value));

        public void Add(string name, byte[] value)
        {
            if (InlineHeaders.Contains(name) && IndexOf(name) is var at and >= 0)
            {
                entries[at] = (name, Appended(entries[at].Value, value));
            }
            else if (name.StartsWith(':'))
            {
                entries.Insert(pseudoCount++, (name, value));
            }
            else
            {
                entries.Add((name, value));
            }
        }

        /// <summary>Replaces the value of the header (inline: its only entry), or adds it.</summary>
        public void Set(string name, string value)
        {
            var at = IndexOf(name);
            if (at < 0)
            {
                Add(name, value);
                return;
            }

            entries[at] = (name, Encoding.UTF8.GetBytes(value));
            for (var later = entries.Count - 1; later > at; later--)
            {
                if (entries[later].Name == name)
                {
                    entries.RemoveAt(later);
                }
            }
        }

        /// <summary>Appends to the header with <c>,</c> (<c>appendToHeader</c>), or adds it.</summary>
        public void Append(string name, string value)
        {
            var at = IndexOf(name);
            if (at < 0)
            {
                Add(name, value);
            }
            else
            {
                entries[at] = (name, Appended(entries[at].Value, Encoding.UTF8.GetBytes(value)));
            }
        }

        public void Remove(string name) => entries.RemoveAll(e => e.Name == name);

        private int IndexOf(string name) => entries.FindIndex(e => e.Name == name);

        private static byte[] Appended(byte[] existing, byte[] value) =>
            value.Length == 0 ? existing : existing.Length == 0 ? value : [.. existing, (byte)',', .. value];
    }
}
