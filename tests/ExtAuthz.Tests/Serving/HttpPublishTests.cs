using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using ExtAuthz.Envoy.Tests.Support;
using ExtAuthz.Mqtt.Hosting;
using ExtAuthz.Serving;
using ExtAuthz.Tests.Shared;
using Microsoft.Extensions.DependencyInjection;
using MQTTnet;

namespace ExtAuthz.Tests.Serving;

/// <summary>
/// <c>serve --http-publish</c>, the data plane's upstream behind Envoy: an allowed <c>POST /topics/{topic}</c>
/// is published to the broker exactly as the route table read it; the rest of the data plane is 501, a
/// malformed request the route table's 400, and only the intakes' peers (and secret) may call.
/// </summary>
public sealed class HttpPublishTests : IDisposable
{
    private static readonly MqttClientFactory Factory = new();

    private readonly CheckFleet fleet = new();
    private readonly string secretFile = Path.GetTempFileName();

    public void Dispose()
    {
        fleet.Dispose();
        File.Delete(secretFile);
    }

    private async Task<(RunningService Service, HttpClient Client)> StartAsync(params string[] flags)
    {
        var service = await RunningService.OnLoopbackAsync(ServeOptions.Parse(["--config", fleet.Directory, "--decision-log", "off", .. flags]));
        var options = service.Services.GetRequiredService<ServeOptions>();
        return (service, new HttpClient { BaseAddress = new Uri($"http://{options.HttpPublish}"), Timeout = TimeSpan.FromSeconds(10) });
    }

    /// <summary>A client of the embedded broker itself, subscribed to everything.</summary>
    private static async Task<(IMqttClient Client, ConcurrentQueue<MqttApplicationMessage> Received)> WatchBrokerAsync(RunningService service)
    {
        var broker = service.Services.GetRequiredService<MqttGateHost>().EmbeddedBroker!.Endpoint;
        var client = Factory.CreateMqttClient();
        var received = new ConcurrentQueue<MqttApplicationMessage>();
        client.ApplicationMessageReceivedAsync += args =>
        {
            received.Enqueue(args.ApplicationMessage);
            return Task.CompletedTask;
        };
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithClientId("watcher").Build());
        await client.SubscribeAsync("#", MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce);
        return (client, received);
    }

    private static async Task<MqttApplicationMessage> NextAsync(ConcurrentQueue<MqttApplicationMessage> received)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        MqttApplicationMessage? message;
        while (!received.TryDequeue(out message))
        {
            Assert.True(DateTime.UtcNow < deadline, "the broker got no message within 10 s");
            await Task.Delay(50);
        }

        return message;
    }

    [Fact]
    public async Task An_allowed_publish_reaches_the_broker_as_the_route_read_it()
    {
        var (service, client) = await StartAsync();
        await using var _ = service;
        using var __ = client;
        var (watcher, received) = await WatchBrokerAsync(service);
        using var ___ = watcher;

        using var request = new HttpRequestMessage(HttpMethod.Post, "/topics/sensors%2Fsensor-1/telemetry?qos=1&retain=true") { Content = new StringContent("{\"t\":21.5}") };
        request.Headers.Add("x-extauthz-decision-id", "decision-7");
        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("OK", answer.GetProperty("message").GetString());
        Assert.Equal("decision-7", answer.GetProperty("traceId").GetString());
        var message = await NextAsync(received);
        Assert.Equal("sensors/sensor-1/telemetry", message.Topic);
        Assert.Equal("{\"t\":21.5}", message.ConvertPayloadToString());
        Assert.Equal(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce, message.QualityOfServiceLevel);

        // Retained: a later subscriber gets it from the broker.
        var late = Factory.CreateMqttClient();
        var lateReceived = new ConcurrentQueue<MqttApplicationMessage>();
        late.ApplicationMessageReceivedAsync += args =>
        {
            lateReceived.Enqueue(args.ApplicationMessage);
            return Task.CompletedTask;
        };
        var broker = service.Services.GetRequiredService<MqttGateHost>().EmbeddedBroker!.Endpoint;
        await late.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithClientId("late").Build());
        await late.SubscribeAsync("sensors/#");
        Assert.True((await NextAsync(lateReceived)).Retain);
        late.Dispose();
    }

    [Theory]
    [InlineData("GET", "/things/sensor-1/shadow", HttpStatusCode.NotImplemented, "GetThingShadow needs")]
    [InlineData("POST", "/things/sensor-1/shadow", HttpStatusCode.NotImplemented, "UpdateThingShadow needs")]
    [InlineData("POST", "/topics/a/+", HttpStatusCode.BadRequest, "topic")]
    [InlineData("POST", "/topics/a?qos=2", HttpStatusCode.BadRequest, "qos must be 0 or 1")]
    [InlineData("GET", "/topics/a", HttpStatusCode.MethodNotAllowed, "method not allowed")]
    [InlineData("POST", "/nothing", HttpStatusCode.NotFound, "not an AWS IoT data-plane operation")]
    public async Task Other_requests_get_the_route_tables_answer_and_nothing_is_published(string method, string path, HttpStatusCode status, string reason)
    {
        var (service, client) = await StartAsync();
        await using var _ = service;
        using var __ = client;
        var (watcher, received) = await WatchBrokerAsync(service);
        using var ___ = watcher;

        var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "GET" ? null : new StringContent("x") });

        Assert.Equal(status, response.StatusCode);
        var message = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("message").GetString()!;
        Assert.Contains(reason, message, StringComparison.Ordinal);
        await Task.Delay(200);
        Assert.Empty(received);
    }

    [Fact]
    public async Task A_payload_over_128_kb_is_refused()
    {
        var (service, client) = await StartAsync();
        await using var _ = service;
        using var __ = client;

        var response = await client.PostAsync("/topics/a", new ByteArrayContent(new byte[(128 * 1024) + 1]));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/topics/a", new ByteArrayContent(new byte[128 * 1024]))).StatusCode);
    }

    [Fact]
    public async Task With_an_intake_secret_only_callers_presenting_it_may_publish()
    {
        File.WriteAllText(secretFile, "s3cret\n");
        var (service, client) = await StartAsync("--mqtt-intake-secret-file", secretFile);
        await using var _ = service;
        using var __ = client;

        Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsync("/topics/a", new StringContent("x"))).StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/topics/a") { Content = new StringContent("x") };
        request.Headers.Add(IntakeGuard.SecretHeader, "s3cret");
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task A_broker_that_cannot_be_reached_is_503_with_the_reason()
    {
        var port = FreePorts.Next();
        var (service, client) = await StartAsync("--broker", $"127.0.0.1:{port}");
        await using var _ = service;
        using var __ = client;

        var response = await client.PostAsync("/topics/a", new StringContent("x"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains($"the broker 127.0.0.1:{port} cannot be reached", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
