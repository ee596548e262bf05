using System.Net;
using ExtAuthz.Identity.Decisions;
using ExtAuthz.Identity.Tests.Support;
using ExtAuthz.Mqtt.Gate;
using ExtAuthz.Mqtt.Hosting;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace ExtAuthz.Mqtt.Tests.Gate;

/// <summary>The Envoy intakes: the h2c tunnel (certificate header) and MQTT over WebSocket (session handle), and who may use them.</summary>
public sealed class IntakeTests
{
    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task Over_the_tunnel_a_device_connects_publishes_and_receives(MqttProtocolVersion version)
    {
        await using var scope = await GateScope.StartAsync();
        await using var client = await GateClient.ConnectAsync(GateClient.Tunnel(scope.Gate, scope.Fleet.Sensor1, "sensor-1", version));
        Assert.True(client.Accepted, client.ConnectError?.ToString());

        await client.Client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("devices/sensor-1/#", MqttQualityOfServiceLevel.AtLeastOnce).Build());
        var published = await client.Client.PublishAsync(GateClient.Message("devices/sensor-1/temp", MqttQualityOfServiceLevel.ExactlyOnce));

        Assert.True(published.IsSuccess);
        await Eventually.True(() => client.Received.Contains("devices/sensor-1/temp"));
        var connect = Assert.Single(scope.Gate.DecisionsOf("Connect", DecisionNames.Allowed));
        Assert.Equal(GateIntake.Tunnel.ListenerName(), connect.Listener);
        Assert.Equal("mqtttunnel", connect.Listener);
    }

    [Fact]
    public async Task A_tunnel_without_a_certificate_is_refused_at_connect()
    {
        await using var scope = await GateScope.StartAsync();
        await using var client = await GateClient.ConnectAsync(GateClient.Tunnel(scope.Gate, null, "sensor-1"));

        Assert.False(client.Accepted);
        Assert.Equal(MqttClientConnectResultCode.NotAuthorized, client.ConnectResult?.ResultCode ?? MqttClientConnectResultCode.NotAuthorized);
        Assert.Contains("no client certificate", Assert.Single(scope.Gate.DecisionsOf("Connect", DecisionNames.Unauthenticated)).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_peer_outside_the_allow_list_is_refused_before_any_mqtt()
    {
        await using var scope = await GateScope.StartAsync(options => options with { IntakeAllow = [IPNetwork.Parse("10.0.0.0/8")] });

        var refused = await Assert.ThrowsAsync<IOException>(() => TunnelStream.OpenAsync(new Uri($"http://127.0.0.1:{scope.Gate.TunnelPort}/mqtt"), new Dictionary<string, string>(), default));
        await using var client = await GateClient.ConnectAsync(GateClient.WebSocket(scope.Gate, scope.Gate.Sessions.Issue("Certificate", Pki.Id(scope.Fleet.Sensor1), null, null), "sensor-1"));

        Assert.Contains("403", refused.Message, StringComparison.Ordinal);
        Assert.False(client.Accepted);
        Assert.Empty(scope.Gate.Decisions);
    }

    [Fact]
    public async Task With_a_shared_secret_only_requests_carrying_it_get_in()
    {
        await using var scope = await GateScope.StartAsync(options => options with { IntakeSecret = "s3cret" });

        await using var without = await GateClient.ConnectAsync(GateClient.Tunnel(scope.Gate, scope.Fleet.Sensor1, "sensor-1"));
        await using var wrong = await GateClient.ConnectAsync(GateClient.Tunnel(scope.Gate, scope.Fleet.Sensor1, "sensor-1", moreHeaders: new Dictionary<string, string> { [IntakeGuard.SecretHeader] = "guess" }));
        await using var with = await GateClient.ConnectAsync(GateClient.Tunnel(scope.Gate, scope.Fleet.Sensor1, "sensor-1", moreHeaders: new Dictionary<string, string> { [IntakeGuard.SecretHeader] = "s3cret" }));

        Assert.False(without.Accepted);
        Assert.False(wrong.Accepted);
        Assert.True(with.Accepted, with.ConnectError?.ToString());
    }

    [Fact]
    public async Task Plain_http_on_the_tunnel_port_is_not_a_tunnel()
    {
        await using var scope = await GateScope.StartAsync();
        using var http = new HttpClient();
        using var get = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{scope.Gate.TunnelPort}/mqtt") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };

        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await http.SendAsync(get)).StatusCode);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task Over_websocket_the_connection_is_bound_to_the_handle_principal(MqttProtocolVersion version)
    {
        await using var scope = await GateScope.StartAsync();
        var handle = scope.Gate.Sessions.Issue("Certificate", Pki.Id(scope.Fleet.Sensor1), "192.0.2.7", "iot.example.com");

        await using var client = await GateClient.ConnectAsync(GateClient.WebSocket(scope.Gate, handle, "sensor-1", version));
        await using var impostor = await GateClient.ConnectAsync(GateClient.WebSocket(scope.Gate, handle, "sensor-2", version));

        Assert.True(client.Accepted, client.ConnectError?.ToString());
        Assert.True((await client.Client.PublishAsync(GateClient.Message("devices/sensor-1/ws"))).IsSuccess);
        Assert.False(impostor.Accepted);
        var connect = Assert.Single(scope.Gate.DecisionsOf("Connect", DecisionNames.Allowed));
        Assert.Equal("mqttwebsocket", connect.Listener);
        Assert.Equal(Pki.Id(scope.Fleet.Sensor1), connect.Principal);
    }

    [Fact]
    public async Task Over_websocket_iam_and_cognito_principals_are_resolved_as_the_check_service_named_them()
    {
        await using var scope = await GateScope.StartAsync();
        var alice = scope.Gate.Sessions.Issue("IamUser", "alice", null, null);
        var guest = scope.Gate.Sessions.Issue("CognitoUnauthenticated", "us-east-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", null, null, GateFleet.GuestPool);
        var poolless = scope.Gate.Sessions.Issue("CognitoUnauthenticated", "us-east-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", null, null);

        await using var asAlice = await GateClient.ConnectAsync(GateClient.WebSocket(scope.Gate, alice, "alice-phone"));
        await using var asGuest = await GateClient.ConnectAsync(GateClient.WebSocket(scope.Gate, guest, "guest-1"));
        await using var withoutPool = await GateClient.ConnectAsync(GateClient.WebSocket(scope.Gate, poolless, "guest-2"));

        Assert.True(asAlice.Accepted, asAlice.ConnectError?.ToString());
        Assert.True((await asAlice.Client.PublishAsync(GateClient.Message("users/alice/status"))).IsSuccess);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, (await asAlice.Client.PublishAsync(GateClient.Message("users/bob/status"))).ReasonCode);
        Assert.True(asGuest.Accepted, asGuest.ConnectError?.ToString());
        Assert.True((await asGuest.Client.PublishAsync(GateClient.Message("guests/hello"))).IsSuccess);
        Assert.False(withoutPool.Accepted);
        Assert.Contains("identity pool", Assert.Single(scope.Gate.DecisionsOf("Connect", DecisionNames.Unauthenticated)).Reason, StringComparison.Ordinal);
        Assert.Equal(["IamUser", "CognitoUnauthenticated"], scope.Gate.DecisionsOf("Connect", DecisionNames.Allowed).Select(d => d.PrincipalKind));
    }

    [Fact]
    public async Task Over_websocket_a_missing_forged_or_foreign_handle_is_refused()
    {
        await using var scope = await GateScope.StartAsync();
        var foreign = ExtAuthz.Identity.Sessions.SessionHandles.WithRandomKey(TimeSpan.FromMinutes(1)).Issue("Certificate", Pki.Id(scope.Fleet.Sensor1), null, null);

        await using var none = await GateClient.ConnectAsync(GateClient.WebSocket(scope.Gate, null, "sensor-1"));
        await using var forged = await GateClient.ConnectAsync(GateClient.WebSocket(scope.Gate, "v1.e30.AAAA", "sensor-1"));
        await using var other = await GateClient.ConnectAsync(GateClient.WebSocket(scope.Gate, foreign, "sensor-1"));

        Assert.All(new[] { none, forged, other }, client => Assert.False(client.Accepted));
        Assert.Equal(3, scope.Gate.DecisionsOf("Connect", DecisionNames.Unauthenticated).Length);
    }
}
