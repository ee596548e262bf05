using System.IO.Pipelines;
using System.Net;
using System.Net.WebSockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using ExtAuthz.Identity.Decisions;
using ExtAuthz.Identity.Sessions;
using ExtAuthz.Mqtt.Gate;
using ExtAuthz.Mqtt.Upstream;
using ExtAuthz.Registry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace ExtAuthz.Mqtt.Hosting;

/// <summary>
/// The gate inside an ASP.NET Core host (<c>extauthz serve</c>): its Kestrel listeners (the h2c
/// tunnel, the WebSocket endpoint, its own TLS or TCP listener), the handlers that turn each into a
/// client connection for <see cref="MqttGate"/>, and the upstream broker (the configured one, or an
/// embedded one started with the host). Each listener tags its connections, so the gate's handlers
/// answer only on the gate's listeners and the host's other endpoints never see them.
/// </summary>
public sealed partial class MqttGateHost : IAsyncDisposable
{
    /// <summary>The URL-encoded PEM of the client's certificate (Envoy: <c>%DOWNSTREAM_PEER_CERT%</c>).</summary>
    public const string CertificateHeader = "x-extauthz-client-cert";

    /// <summary>The client's address (Envoy: <c>%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%</c>), for <c>aws:SourceIp</c>.</summary>
    public const string SourceIpHeader = "x-extauthz-source-ip";

    /// <summary>The server name the client asked for (Envoy: <c>%REQUESTED_SERVER_NAME%</c>), for <c>iot:DomainName</c>.</summary>
    public const string ServerNameHeader = "x-extauthz-server-name";

    /// <summary>The session handle the Check service answered the WebSocket upgrade with.</summary>
    public const string SessionHeader = "x-extauthz-session";

    /// <summary>The WebSocket subprotocol MQTT requires.</summary>
    public const string WebSocketProtocol = "mqtt";

    private const string IntakeItem = "extauthz.mqtt.intake";

    private readonly MqttGateHostOptions options;
    private readonly Func<RegistrySnapshot?> snapshots;
    private readonly SessionHandles? sessions;
    private readonly Action<DecisionRecord>? decisions;
    private readonly ILogger logger;
    private readonly IntakeGuard guard;
    private MqttGate? gate;
    private readonly Lock stopping = new();
    private readonly Dictionary<GateIntake, ListenOptions> listeners = [];
    private Task? stopped;

    /// <param name="sessions">Verifies the WebSocket intake's session handles (the Check service's own instance, so they share the key); null turns that intake's connections away.</param>
    public MqttGateHost(MqttGateHostOptions options, Func<RegistrySnapshot?> snapshots, SessionHandles? sessions, Action<DecisionRecord>? decisions, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(snapshots);
        ArgumentNullException.ThrowIfNull(loggers);
        if (options.Listen is not null && options.ServerCertificate is null && options.InsecurePrincipal is null)
        {
            throw new ArgumentException("the gate's own listener needs a server certificate (or, for development, a principal for plain TCP)", nameof(options));
        }

        this.options = options;
        this.snapshots = snapshots;
        this.sessions = sessions;
        this.decisions = decisions;
        logger = loggers.CreateLogger("ExtAuthz.Mqtt");
        guard = new IntakeGuard(options.IntakeAllow, options.IntakeSecret);
    }

    /// <summary>The gate, once <see cref="StartAsync"/> has run.</summary>
    public MqttGate? Gate => Volatile.Read(ref gate);

    /// <summary>The broker started in process when none is configured.</summary>
    public EmbeddedBroker? EmbeddedBroker { get; private set; }

    /// <summary>Publishes authorized HTTP publishes to the broker, once <see cref="StartAsync"/> has run.</summary>
    public BrokerPublisher? Publisher { get; private set; }

    /// <summary>Starts the embedded broker (when no broker is configured) and the gate. Call before the listeners serve.</summary>
    public async Task StartAsync()
    {
        BrokerEndpoint endpoint;
        IBrokerConnector broker;
        if (options.Broker is { } configured)
        {
            endpoint = configured;
            broker = new TcpBrokerConnector(endpoint, options.BrokerTrust);
        }
        else
        {
            EmbeddedBroker = await EmbeddedBroker.StartAsync(options.EmbeddedBrokerListen).ConfigureAwait(false);
            endpoint = EmbeddedBroker.Endpoint;
            broker = EmbeddedBroker.Connector;
            LogEmbeddedBroker(logger, endpoint);
        }

        Publisher = new BrokerPublisher(endpoint, options.BrokerTrust);

        Volatile.Write(ref gate, new MqttGate(snapshots, broker, options.Gate, decisions, logger));
        if (options.InsecurePrincipal is not null && options.Listen is not null)
        {
            LogInsecure(logger, options.Listen, options.InsecurePrincipal);
        }
    }

    /// <summary>Where an intake listens, once Kestrel has bound it (the actual port when 0 was asked for); null when it is off.</summary>
    public IPEndPoint? EndpointOf(GateIntake intake) => listeners.TryGetValue(intake, out var listen) ? listen.IPEndPoint : null;

    /// <summary>A new configuration is in effect: live connections are re-checked.</summary>
    public void OnSnapshotChanged() => Gate?.Revalidate();

    /// <summary>Adds the gate's listeners to Kestrel.</summary>
    public void ConfigureKestrel(KestrelServerOptions kestrel)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        if (options.Tunnel is { } tunnel)
        {
            // Envoy's tunnels are HTTP/2 with prior knowledge: cleartext HTTP/2 needs an HTTP/2-only endpoint.
            kestrel.Listen(tunnel, listen => Tag(listen, GateIntake.Tunnel, HttpProtocols.Http2));
        }

        if (options.WebSocket is { } webSocket)
        {
            kestrel.Listen(webSocket, listen => Tag(listen, GateIntake.WebSocket, HttpProtocols.Http1));
        }

        if (options.Listen is { } own)
        {
            kestrel.Listen(own, listen =>
            {
                listeners[options.ServerCertificate is null ? GateIntake.Tcp : GateIntake.Tls] = listen;
                if (options.ServerCertificate is { } certificate)
                {
                    // A client without a certificate is refused at CONNECT, with a CONNACK and a logged reason.
                    var tls = RegistryDecidedTls(certificate);

                    // Kestrel would offer only h2 and http/1.1, and refuse a client that offers ALPN
                    // (x-amzn-mqtt-ca, mqtt) with no_application_protocol: MQTT needs no ALPN at all.
                    tls.OnAuthenticate = (_, authentication) => authentication.ApplicationProtocols = null;
                    listen.UseHttps(tls);
                }

                listen.Run(OwnListenerConnectionAsync);
            });
        }
    }

    /// <summary>
    /// TLS for a listener whose clients present certificates the registry decides on (registered and
    /// ACTIVE, or signed by an ACTIVE auto-registering CA), as Envoy's 8883 and 8443 do: a client
    /// certificate is asked for, not required, and not checked against a trust store here.
    /// </summary>
    public static HttpsConnectionAdapterOptions RegistryDecidedTls(X509Certificate2 serverCertificate) => new()
    {
        ServerCertificate = serverCertificate,
        ClientCertificateMode = ClientCertificateMode.AllowCertificate,
        ClientCertificateValidation = (_, _, _) => true,
        CheckCertificateRevocation = false,
        SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
    };

    /// <summary>Adds the gate's request handling: requests on the gate's HTTP listeners go to the gate, all others pass on.</summary>
    public void UseIntakes(IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseWebSockets();
        app.Use(async (context, next) =>
        {
            switch (IntakeOf(context))
            {
                case GateIntake.Tunnel:
                    await TunnelAsync(context).ConfigureAwait(false);
                    break;
                case GateIntake.WebSocket:
                    await WebSocketAsync(context).ConfigureAwait(false);
                    break;
                default:
                    await next(context).ConfigureAwait(false);
                    break;
            }
        });
    }

    /// <summary>
    /// Closes every MQTT connection (MQTT 5 clients hear DISCONNECT 0x8B), then stops the embedded
    /// broker. Call it as the application starts stopping: Kestrel's graceful shutdown waits for open
    /// connections, and MQTT connections would otherwise stay open until its timeout. Idempotent.
    /// </summary>
    public Task StopAsync()
    {
        lock (stopping)
        {
            return stopped ??= StopCoreAsync();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private async Task StopCoreAsync()
    {
        if (Gate is { } running)
        {
            await running.DisposeAsync().ConfigureAwait(false);
        }

        if (Publisher is { } publisher)
        {
            await publisher.DisposeAsync().ConfigureAwait(false);
        }

        if (EmbeddedBroker is { } embedded)
        {
            await embedded.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static GateIntake? IntakeOf(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var items = context.Features.Get<IConnectionItemsFeature>()?.Items;
        return items is not null && items.TryGetValue(IntakeItem, out var tag) && tag is GateIntake intake ? intake : null;
    }

    private void Tag(ListenOptions listen, GateIntake intake, HttpProtocols protocols)
    {
        listeners[intake] = listen;
        listen.Protocols = protocols;
        listen.Use(next => connection =>
        {
            connection.Items[IntakeItem] = intake;
            return next(connection);
        });
    }

    /// <summary>
    /// Envoy's tcp_proxy with <c>tunneling_config.use_post</c>: one HTTP/2 POST per MQTT connection,
    /// the client's bytes in the request body and the broker's in the response body, both open for the
    /// connection's life.
    /// </summary>
    private async Task TunnelAsync(HttpContext context)
    {
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        if (!Admit(context, GateIntake.Tunnel))
        {
            return;
        }

        KeepOpen(context);
        context.Response.StatusCode = StatusCodes.Status200OK;
        await context.Response.StartAsync(context.RequestAborted).ConfigureAwait(false);

        // Kestrel's HTTP/2 holds the HEADERS frame until a flush; Envoy waits for the 200 before it sends a byte.
        await context.Response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        var headers = context.Request.Headers;
        var client = new Duplex(context.Request.BodyReader, context.Response.BodyWriter);
        await Gate!.RunAsync(client, GateIntake.Tunnel, ClientIdentity.Certificate(SingleHeader(headers, CertificateHeader)),
            SingleHeader(headers, SourceIpHeader), SingleHeader(headers, ServerNameHeader), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>MQTT over WebSocket, after Envoy's ext_authz allowed the upgrade and named the principal in a session handle.</summary>
    private async Task WebSocketAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await RefuseAsync(context, StatusCodes.Status400BadRequest, "this endpoint serves MQTT over WebSocket only").ConfigureAwait(false);
            return;
        }

        if (!Admit(context, GateIntake.WebSocket))
        {
            return;
        }

        var headers = context.Request.Headers;
        var handle = SingleHeader(headers, SessionHeader);
        SessionClaims? claims = null;
        string? refusal = null;
        if (sessions is null)
        {
            refusal = "MQTT over WebSocket is not enabled (no session key)";
        }
        else if (!sessions.TryVerify(handle, out claims, out var reason))
        {
            refusal = $"{reason}; Envoy's ext_authz must allow the upgrade first, and the route must pass its {SessionHeader} header on";
        }

        if (refusal is not null)
        {
            SessionAuthorizer.RefuseFor(Gate!, GateIntake.WebSocket, null, null, snapshots()?.Generation ?? 0, "Connect", DecisionNames.Unauthenticated, refusal, null, null, null,
                regardlessOfDryRun: true);
            await RefuseAsync(context, StatusCodes.Status401Unauthorized, refusal).ConfigureAwait(false);
            return;
        }

        if (!context.WebSockets.WebSocketRequestedProtocols.Contains(WebSocketProtocol, StringComparer.OrdinalIgnoreCase))
        {
            await RefuseAsync(context, StatusCodes.Status400BadRequest, "MQTT over WebSocket needs the subprotocol mqtt (Sec-WebSocket-Protocol: mqtt)").ConfigureAwait(false);
            return;
        }

        KeepOpen(context);
        using var socket = await context.WebSockets.AcceptWebSocketAsync(WebSocketProtocol).ConfigureAwait(false);
        var stream = WebSocketStream.Create(socket, WebSocketMessageType.Binary, TimeSpan.FromSeconds(1));
        await using (stream.ConfigureAwait(false))
        {
            var client = new Duplex(PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true)), PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true)));
            await Gate!.RunAsync(client, GateIntake.WebSocket, ClientIdentity.Session(claims!, SingleHeader(headers, CertificateHeader)),
                claims!.SourceIp, claims.DomainName, context.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>The gate's own listener: mutual TLS (the certificate from the handshake), or plain TCP with the development principal.</summary>
    private async Task OwnListenerConnectionAsync(ConnectionContext connection)
    {
        if (Gate is not { } running)
        {
            return;
        }

        var tls = connection.Features.Get<ITlsConnectionFeature>();
        var handshake = connection.Features.Get<ITlsHandshakeFeature>();
        var intake = tls is null ? GateIntake.Tcp : GateIntake.Tls;
        ClientIdentity identity;
        if (tls is null)
        {
            identity = ClientIdentity.Fixed(options.InsecurePrincipal!);
        }
        else
        {
            var certificate = await tls.GetClientCertificateAsync(connection.ConnectionClosed).ConfigureAwait(false);
            identity = ClientIdentity.Certificate(certificate is null ? null : Uri.EscapeDataString(certificate.ExportCertificatePem() + "\n"));
        }

        var sourceIp = (connection.RemoteEndPoint as IPEndPoint)?.Address is { } address ? (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString() : null;
        await running.RunAsync(connection.Transport, intake, identity, sourceIp, string.IsNullOrEmpty(handshake?.HostName) ? null : handshake.HostName,
            connection.ConnectionClosed).ConfigureAwait(false);
    }

    /// <summary>The allow list and the shared secret; a refused peer gets 403 and the reason is logged (not told).</summary>
    private bool Admit(HttpContext context, GateIntake intake)
    {
        if (guard.Refusal(context.Connection.RemoteIpAddress, SingleHeader(context.Request.Headers, IntakeGuard.SecretHeader)) is { } refusal)
        {
            LogIntakeRefused(logger, intake, refusal);
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return false;
        }

        if (Gate is null)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return false;
        }

        return true;
    }

    private static async Task RefuseAsync(HttpContext context, int status, string reason)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(reason + "\n", context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>An MQTT connection lasts as long as the device stays: no body size limit, and no minimum data rate (an idle device sends nothing for minutes).</summary>
    private static void KeepOpen(HttpContext context)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = null;
        }

        if (context.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } requestRate)
        {
            requestRate.MinDataRate = null;
        }

        if (context.Features.Get<IHttpMinResponseDataRateFeature>() is { } responseRate)
        {
            responseRate.MinDataRate = null;
        }
    }

    /// <summary>A header's one value, else null; Envoy writes an empty value for an operator it cannot fill (no certificate), which counts as absent.</summary>
    public static string? SingleHeader(IHeaderDictionary headers, string name)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var value = headers[name];
        return value.Count == 1 && !string.IsNullOrEmpty(value[0]) ? value[0] : null;
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    [LoggerMessage(EventId = 5020, Level = LogLevel.Information, Message = "No --broker: the gate hands MQTT connections to the embedded broker in process; its own listener is on {Endpoint}")]
    private static partial void LogEmbeddedBroker(ILogger logger, BrokerEndpoint endpoint);

    [LoggerMessage(EventId = 5021, Level = LogLevel.Warning, Message = "The MQTT listener {Endpoint} is plain TCP and every client on it is certificate {Principal}: for development only")]
    private static partial void LogInsecure(ILogger logger, IPEndPoint endpoint, string principal);

    [LoggerMessage(EventId = 5022, Level = LogLevel.Warning, Message = "A request on the MQTT gate's {Intake} intake was refused: {Reason}")]
    private static partial void LogIntakeRefused(ILogger logger, GateIntake intake, string reason);
}
