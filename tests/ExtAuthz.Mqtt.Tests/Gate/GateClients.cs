using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using ExtAuthz.Identity.Tests.Support;
using ExtAuthz.Mqtt.Hosting;
using MQTTnet;
using MQTTnet.Channel;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace ExtAuthz.Mqtt.Tests.Gate;

/// <summary>Real MQTTnet clients through each of the gate's intakes, with what they received and how they ended.</summary>
internal sealed class GateClient : IAsyncDisposable
{
    private static readonly MqttClientFactory Factory = new();

    private GateClient(IMqttClient client)
    {
        Client = client;
        client.ApplicationMessageReceivedAsync += args =>
        {
            Received.Enqueue(args.ApplicationMessage.Topic);
            return Task.CompletedTask;
        };
        client.DisconnectedAsync += args =>
        {
            Disconnected.TrySetResult(args);
            return Task.CompletedTask;
        };
    }

    public IMqttClient Client { get; }

    /// <summary>Topics of the messages delivered to the client.</summary>
    public ConcurrentQueue<string> Received { get; } = new();

    public TaskCompletionSource<MqttClientDisconnectedEventArgs> Disconnected { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The CONNACK's result; null when the connection failed before one came (or the client threw on a refusal).</summary>
    public MqttClientConnectResult? ConnectResult { get; private set; }

    public Exception? ConnectError { get; private set; }

    public bool Accepted => ConnectResult?.ResultCode == MqttClientConnectResultCode.Success && Client.IsConnected;

    /// <summary>Through the gate's own mutual-TLS listener, presenting <paramref name="certificate"/> (none when null).</summary>
    public static MqttClientOptionsBuilder Tls(RunningGate gate, X509Certificate2? certificate, string clientId, MqttProtocolVersion version = MqttProtocolVersion.V500) =>
        Base(clientId, version)
            .WithTcpServer("127.0.0.1", gate.ListenPort)
            .WithTlsOptions(tls => tls.UseTls()
                .WithTargetHost("localhost")
                .WithCertificateValidationHandler(_ => true)
                .WithClientCertificates(certificate is null ? [] : [certificate]));

    /// <summary>MQTT over WebSocket as Envoy routes it after ext_authz: the session handle in its header.</summary>
    public static MqttClientOptionsBuilder WebSocket(RunningGate gate, string? handle, string clientId, MqttProtocolVersion version = MqttProtocolVersion.V500,
        IDictionary<string, string>? moreHeaders = null)
    {
        var headers = new Dictionary<string, string>(moreHeaders ?? new Dictionary<string, string>());
        if (handle is not null)
        {
            headers[MqttGateHost.SessionHeader] = handle;
        }

        return Base(clientId, version).WithWebSocketServer(ws => ws.WithUri($"ws://127.0.0.1:{gate.WebSocketPort}/mqtt").WithRequestHeaders(headers));
    }

    /// <summary>Over the h2c tunnel exactly as Envoy's tcp_proxy frames it: one HTTP/2 POST, the certificate in a header.</summary>
    public static MqttClientOptionsBuilder Tunnel(RunningGate gate, X509Certificate2? certificate, string clientId, MqttProtocolVersion version = MqttProtocolVersion.V500,
        IDictionary<string, string>? moreHeaders = null)
    {
        var headers = new Dictionary<string, string>(moreHeaders ?? new Dictionary<string, string>())
        {
            [MqttGateHost.SourceIpHeader] = "192.0.2.10",
            [MqttGateHost.ServerNameHeader] = "iot.example.com",
        };
        if (certificate is not null)
        {
            headers[MqttGateHost.CertificateHeader] = Uri.EscapeDataString(Pki.Pem(certificate));
        }

        return Base(clientId, version)
            .WithTcpServer("127.0.0.1", gate.TunnelPort)
            .WithStreamProvider(new TunnelStreamProvider(new Uri($"http://127.0.0.1:{gate.TunnelPort}/mqtt"), headers));
    }

    public static async Task<GateClient> ConnectAsync(MqttClientOptionsBuilder options)
    {
        var client = new GateClient(Factory.CreateMqttClient());
        try
        {
            client.ConnectResult = await client.Client.ConnectAsync(options.Build());
        }
        catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or IOException)
        {
            client.ConnectError = ex;
        }

        return client;
    }

    public static MqttApplicationMessage Message(string topic, MqttQualityOfServiceLevel qos = MqttQualityOfServiceLevel.AtLeastOnce, bool retain = false) =>
        new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload("x").WithQualityOfServiceLevel(qos).WithRetainFlag(retain).Build();

    /// <summary>Waits for the client to be disconnected (by the gate or the broker), failing after <paramref name="within"/>.</summary>
    public async Task<MqttClientDisconnectedEventArgs> DisconnectedWithin(TimeSpan within) => await Disconnected.Task.WaitAsync(within);

    public async ValueTask DisposeAsync()
    {
        if (Client.IsConnected)
        {
            try
            {
                await Client.DisconnectAsync();
            }
            catch (MQTTnet.Exceptions.MqttCommunicationException)
            {
                // Already going away.
            }
        }

        Client.Dispose();
    }

    private static MqttClientOptionsBuilder Base(string clientId, MqttProtocolVersion version) =>
        new MqttClientOptionsBuilder().WithClientId(clientId).WithProtocolVersion(version).WithTimeout(TimeSpan.FromSeconds(10)).WithCleanSession();

    /// <summary>MQTTnet's transport hook: each connection is a new tunnel.</summary>
    private sealed class TunnelStreamProvider(Uri uri, IDictionary<string, string> headers) : IMqttClientStreamProvider
    {
        public Task<Stream> ConnectAsync(EndPoint endPoint, CancellationToken cancellationToken) => TunnelStream.OpenAsync(uri, headers, cancellationToken);
    }
}

/// <summary>
/// An HTTP/2 POST kept open in both directions, as a <see cref="Stream"/>: writes go out in the request
/// body, reads come from the response body. This is what Envoy's tcp_proxy does with
/// <c>tunneling_config.use_post</c>.
/// </summary>
internal sealed class TunnelStream : Stream
{
    private readonly HttpClient http;
    private readonly Stream requestBody;
    private readonly TaskCompletionSource requestDone;
    private readonly HttpResponseMessage response;
    private readonly Stream responseBody;

    private TunnelStream(HttpClient http, Stream requestBody, TaskCompletionSource requestDone, HttpResponseMessage response, Stream responseBody)
    {
        this.http = http;
        this.requestBody = requestBody;
        this.requestDone = requestDone;
        this.response = response;
        this.responseBody = responseBody;
    }

    public HttpStatusCode Status => response.StatusCode;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public static async Task<Stream> OpenAsync(Uri uri, IDictionary<string, string> headers, CancellationToken cancellationToken)
    {
        var http = new HttpClient(new SocketsHttpHandler()) { Timeout = Timeout.InfiniteTimeSpan };
        var content = new DuplexContent();
        var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var responseTask = http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var requestBody = await content.Stream.Task.WaitAsync(cancellationToken);
        var response = await responseTask;
        if (response.StatusCode != HttpStatusCode.OK)
        {
            content.Done.TrySetResult();
            http.Dispose();
            throw new IOException($"the tunnel was refused: HTTP {(int)response.StatusCode}");
        }

        return new TunnelStream(http, requestBody, content.Done, response, await response.Content.ReadAsStreamAsync(cancellationToken));
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        await responseBody.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await requestBody.WriteAsync(buffer, cancellationToken);
        await requestBody.FlushAsync(cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => requestBody.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override void Flush() => FlushAsync().GetAwaiter().GetResult();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            requestDone.TrySetResult();
            responseBody.Dispose();
            response.Dispose();
            http.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>A request body that stays open: hands out the stream HttpClient writes to, and ends only when told.</summary>
    private sealed class DuplexContent : HttpContent
    {
        public TaskCompletionSource<Stream> Stream { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            // HttpClient's HTTP/2 holds the HEADERS frame until the body is flushed, and the gate answers
            // (and the client writes) only after the headers: flush the empty body now, as Envoy sends at once.
            await stream.FlushAsync();
            Stream.TrySetResult(stream);
            await Done.Task;
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
