using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ExtAuthz.Envoy.Checking;
using ExtAuthz.Envoy.Simulation;
using ExtAuthz.Identity.Tests.Support;
using ExtAuthz.Mqtt.Gate;
using ExtAuthz.Mqtt.Hosting;
using ExtAuthz.Serving;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace ExtAuthz.Tests.Serving;

/// <summary>
/// The MQTT gate inside <c>extauthz serve</c>: the same configuration, the same decision log and
/// metrics as the Check service, the Check service's session handles accepted on the WebSocket
/// intake, configuration changes reaching live connections, and a prompt stop.
/// </summary>
public sealed class MqttGateServeTests : IDisposable
{
    private const string DevicePolicy = """
        {"Version": "2012-10-17", "Statement": [
          {"Sid": "Connect", "Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"},
          {"Sid": "Telemetry", "Effect": "Allow", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/sensors/${iot:Connection.Thing.ThingName}/*"}]}
        """;

    private static readonly MqttClientFactory Factory = new();

    private readonly string directory = Directory.CreateTempSubdirectory("extauthz-serve-gate-").FullName;
    private readonly string tls = Directory.CreateTempSubdirectory("extauthz-serve-gate-tls-").FullName;
    private readonly string decisionLog = Path.Combine(Path.GetTempPath(), $"extauthz-gate-decisions-{Guid.NewGuid():N}.jsonl");
    private readonly X509Certificate2 ca = Pki.Ca("CN=Serve Gate CA");
    private readonly X509Certificate2 sensor;

    public MqttGateServeTests()
    {
        sensor = Pki.Device("CN=sensor-1", ca);
        File.WriteAllText(Path.Combine(directory, "sensor-1.pem"), Pki.Pem(sensor));
        File.WriteAllText(Path.Combine(directory, "DevicePolicy.json"), DevicePolicy);
        WriteRegistry("ACTIVE");
        using var server = Pki.Device("CN=localhost", ca, sans: names => names.AddDnsName("localhost"));
        File.WriteAllText(ServerCertificate, server.ExportCertificatePem());
        File.WriteAllText(ServerKey, server.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
    }

    private string ServerCertificate => Path.Combine(tls, "server.pem");

    private string ServerKey => Path.Combine(tls, "server.key");

    public void Dispose()
    {
        Directory.Delete(directory, recursive: true);
        Directory.Delete(tls, recursive: true);
        File.Delete(decisionLog);
    }

    [Fact]
    public async Task A_device_on_the_gate_own_tls_listener_is_decided_logged_counted_and_revoked_live()
    {
        await using var serve = await StartAsync("--mqtt-listen", "127.0.0.1:0", "--mqtt-tls-cert", ServerCertificate, "--mqtt-tls-key", ServerKey);
        using var client = Factory.CreateMqttClient();
        var disconnected = new TaskCompletionSource<MqttClientDisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.DisconnectedAsync += args =>
        {
            disconnected.TrySetResult(args);
            return Task.CompletedTask;
        };

        var connected = await client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", serve.Gate.EndpointOf(GateIntake.Tls)!.Port)
            .WithClientId("sensor-1")
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithTlsOptions(tls => tls.UseTls().WithTargetHost("localhost").WithTrustChain([ca]).WithClientCertificates([sensor]))
            .Build());
        var allowed = await client.PublishAsync(Message("sensors/sensor-1/temp"));
        var refused = await client.PublishAsync(Message("sensors/sensor-2/temp"));

        Assert.Equal(MqttClientConnectResultCode.Success, connected.ResultCode);
        Assert.True(allowed.IsSuccess);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, refused.ReasonCode);
        var metrics = await serve.Admin.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("extauthz_checks_total{decision=\"IMPLICIT_DENY\",listener=\"mqtttls\",action=\"iot:Publish\"} 1", metrics, StringComparison.Ordinal);

        WriteRegistry("REVOKED");
        var ended = await disconnected.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(MqttClientDisconnectReason.NotAuthorized, ended.Reason);

        await serve.DisposeAsync();
        var lines = (await File.ReadAllLinesAsync(decisionLog)).Select(line => JsonDocument.Parse(line).RootElement).ToArray();
        Assert.Contains(lines, line => line.GetProperty("listener").GetString() == "mqtttls" && line.GetProperty("operation").GetString() == "Connect"
            && line.GetProperty("decision").GetString() == "ALLOWED" && line.GetProperty("statement").GetString() == "Connect");
        Assert.Contains(lines, line => line.GetProperty("operation").GetString() == "Publish" && line.GetProperty("decision").GetString() == "IMPLICIT_DENY"
            && line.GetProperty("resource").GetString() == "arn:aws:iot:us-east-1:123456789012:topic/sensors/sensor-2/temp");
        Assert.Contains(lines, line => line.GetProperty("operation").GetString() == "Recheck" && line.GetProperty("decision").GetString() == "UNAUTHENTICATED");
    }

    [Fact]
    public async Task Over_websocket_the_gate_accepts_the_session_handle_the_check_service_answered_the_upgrade_with()
    {
        await using var serve = await StartAsync();
        using var channel = GrpcChannel.ForAddress($"http://{serve.Options.Listen}");
        var check = new global::Envoy.Service.Auth.V3.Authorization.AuthorizationClient(channel);
        var upgrade = await check.CheckAsync(EnvoyCheckRequest.WebSocket().WithClientCertificate(sensor).Build());
        var handle = upgrade.OkResponse.Headers.Single(h => h.Header.Key == IdentityHeaders.Session).Header.Value;
        using var client = Factory.CreateMqttClient();

        var connected = await client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithWebSocketServer(ws => ws.WithUri($"ws://127.0.0.1:{serve.Gate.EndpointOf(GateIntake.WebSocket)!.Port}/mqtt")
                .WithRequestHeaders(new Dictionary<string, string> { [MqttGateHost.SessionHeader] = handle }))
            .WithClientId("sensor-1")
            .Build());

        Assert.Equal(MqttClientConnectResultCode.Success, connected.ResultCode);
        Assert.True((await client.PublishAsync(Message("sensors/sensor-1/ws"))).IsSuccess);
    }

    [Fact]
    public async Task For_development_the_own_listener_serves_plain_tcp_as_one_registered_certificate()
    {
        await using var serve = await StartAsync("--mqtt-listen", "127.0.0.1:0", "--mqtt-insecure-as", Pki.Id(sensor));
        using var client = Factory.CreateMqttClient();

        var connected = await client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", serve.Gate.EndpointOf(GateIntake.Tcp)!.Port).WithClientId("sensor-1").Build());

        Assert.Equal(MqttClientConnectResultCode.Success, connected.ResultCode);
        Assert.True((await client.PublishAsync(Message("sensors/sensor-1/dev"))).IsSuccess);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, (await client.PublishAsync(Message("sensors/sensor-2/dev"))).ReasonCode);
    }

    [Fact]
    public async Task Stopping_the_service_closes_mqtt_connections_at_once()
    {
        var serve = await StartAsync("--mqtt-listen", "127.0.0.1:0", "--mqtt-insecure-as", Pki.Id(sensor));
        using var client = Factory.CreateMqttClient();
        var disconnected = new TaskCompletionSource<MqttClientDisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.DisconnectedAsync += args =>
        {
            disconnected.TrySetResult(args);
            return Task.CompletedTask;
        };
        await client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", serve.Gate.EndpointOf(GateIntake.Tcp)!.Port).WithClientId("sensor-1").Build());

        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await serve.DisposeAsync();

        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(5), $"stopping took {stopping.Elapsed}");
        Assert.Equal(MqttClientDisconnectReason.ServerShuttingDown, (await disconnected.Task.WaitAsync(TimeSpan.FromSeconds(5))).Reason);
    }

    private static MqttApplicationMessage Message(string topic) =>
        new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload("1").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();

    private async Task<Serve> StartAsync(params string[] flags)
    {
        var options = ServeOptions.Parse(["--config", directory, "--decision-log", decisionLog, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
            "--mqtt-tunnel", "127.0.0.1:0", "--mqtt-websocket", "127.0.0.1:0", "--http-publish", "127.0.0.1:0", .. flags]);
        var app = ServiceHost.Build(options);
        await app.StartAsync();
        return new Serve(app, options);
    }

    private void WriteRegistry(string status)
    {
        var temporary = Path.Combine(directory, ".registry.yaml.tmp");
        File.WriteAllText(temporary, $"""
            account: "123456789012"
            region: us-east-1
            certificates:
              - name: sensor-1
                pemFile: sensor-1.pem
                status: {status}
                policies: [DevicePolicy]
            things:
              - name: sensor-1
                principals:
                  - certificate: sensor-1
            """);
        File.Move(temporary, Path.Combine(directory, "registry.yaml"), overwrite: true);
    }

    /// <summary>A running <c>serve</c>, with its bound addresses (every port was 0).</summary>
    private sealed class Serve(WebApplication app, ServeOptions options) : IAsyncDisposable
    {
        private int disposed;

        public ServeOptions Options { get; } = WithBoundPorts(app, options);

        public MqttGateHost Gate => app.Services.GetRequiredService<MqttGateHost>();

        public HttpClient Admin { get; } = new() { BaseAddress = new Uri($"http://{Bound(app, 1)}") };

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref disposed, 1) != 0)
            {
                return;
            }

            Admin.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }

        private static ServeOptions WithBoundPorts(WebApplication app, ServeOptions options)
        {
            options.Listen = Bound(app, 0);
            return options;
        }

        /// <summary>Kestrel reports its bound addresses in the order the listeners were added: gRPC, admin, then the gate's.</summary>
        private static IPEndPoint Bound(WebApplication app, int index) => IPEndPoint.Parse(new Uri(app.Urls.ElementAt(index)).Authority);
    }
}
