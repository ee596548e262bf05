using ExtAuthz.Identity.Decisions;
using ExtAuthz.Identity.Tests.Support;
using ExtAuthz.Mqtt.Gate;
using MQTTnet;
using MQTTnet.Formatter;

namespace ExtAuthz.Mqtt.Tests.Gate;

/// <summary>CONNECT through the gate's own mutual-TLS listener: iot:Connect on client/{clientId}, with the registry's certificate rules.</summary>
public sealed class ConnectTests
{
    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task A_registered_device_connects_as_its_thing(MqttProtocolVersion version)
    {
        await using var scope = await GateScope.StartAsync();
        var (fleet, gate) = (scope.Fleet, scope.Gate);
        await using var client = await GateClient.ConnectAsync(GateClient.Tls(gate, fleet.Sensor1, "sensor-1", version));

        Assert.True(client.Accepted, client.ConnectError?.ToString());
        var decision = Assert.Single(gate.DecisionsOf("Connect", DecisionNames.Allowed));
        Assert.Equal("iot:Connect", decision.Action);
        Assert.Equal(GateFleet.Arn + "client/sensor-1", decision.Resource);
        Assert.Equal(Pki.Id(fleet.Sensor1), decision.Principal);
        Assert.Equal("sensor-1", decision.Thing);
        Assert.Equal("ConnectAsThing", decision.Statement);
        Assert.Equal("mqtttls", decision.Listener);

        // No --broker: the gate hands the connection to the embedded broker in memory, not over a socket.
        var atBroker = Assert.Single(await gate.Host.EmbeddedBroker!.Server.GetClientsAsync());
        Assert.Equal("sensor-1", atBroker.Id);
        Assert.StartsWith("extauthz-gate:", atBroker.RemoteEndPoint.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task Another_client_id_is_refused_with_not_authorized(MqttProtocolVersion version)
    {
        await using var scope = await GateScope.StartAsync();
        var (fleet, gate) = (scope.Fleet, scope.Gate);
        await using var client = await GateClient.ConnectAsync(GateClient.Tls(gate, fleet.Sensor1, "sensor-2", version));

        Assert.False(client.Accepted);
        AssertRefused(client);
        var decision = Assert.Single(gate.DecisionsOf("Connect", DecisionNames.ImplicitDeny));
        Assert.Contains("allows iot:Connect on " + GateFleet.Arn + "client/sensor-2", decision.Reason, StringComparison.Ordinal);
        Assert.Empty(await gate.Host.EmbeddedBroker!.Server.GetClientsAsync());
    }

    [Fact]
    public async Task Revoked_unknown_and_missing_certificates_are_refused_before_any_policy()
    {
        await using var scope = await GateScope.StartAsync();
        var (fleet, gate) = (scope.Fleet, scope.Gate);
        await using var revoked = await GateClient.ConnectAsync(GateClient.Tls(gate, fleet.Revoked, "old-sensor"));
        await using var stranger = await GateClient.ConnectAsync(GateClient.Tls(gate, fleet.Stranger, "stranger"));
        await using var none = await GateClient.ConnectAsync(GateClient.Tls(gate, null, "sensor-1"));

        Assert.All(new[] { revoked, stranger, none }, AssertRefused);
        var reasons = gate.DecisionsOf("Connect", DecisionNames.Unauthenticated).Select(d => d.Reason).ToArray();
        Assert.Equal(3, reasons.Length);
        Assert.Contains(reasons, r => r!.Contains("REVOKED", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r!.Contains("not registered", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r!.Contains("no client certificate", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_client_offering_alpn_as_aws_iot_sdks_do_on_443_connects()
    {
        await using var scope = await GateScope.StartAsync();
        var (fleet, gate) = (scope.Fleet, scope.Gate);

        await using var client = await GateClient.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", gate.ListenPort).WithClientId("sensor-1").WithTimeout(TimeSpan.FromSeconds(10))
            .WithTlsOptions(tls => tls.UseTls().WithTargetHost("localhost").WithTrustChain([fleet.Ca]).WithClientCertificates([fleet.Sensor1])
                .WithApplicationProtocols([new System.Net.Security.SslApplicationProtocol("x-amzn-mqtt-ca")])));

        Assert.True(client.Accepted, client.ConnectError?.ToString());
    }

    [Fact]
    public async Task A_certificate_its_active_ca_auto_registers_connects()
    {
        await using var scope = await GateScope.StartAsync();
        var (fleet, gate) = (scope.Fleet, scope.Gate);
        await using var client = await GateClient.ConnectAsync(GateClient.Tls(gate, fleet.AutoRegistered, "auto-1"));

        Assert.True(client.Accepted, client.ConnectError?.ToString());
    }

    [Fact]
    public async Task A_will_on_a_topic_the_device_may_not_publish_to_is_refused()
    {
        await using var scope = await GateScope.StartAsync();
        var (fleet, gate) = (scope.Fleet, scope.Gate);
        await using var allowed = await GateClient.ConnectAsync(GateClient.Tls(gate, fleet.Sensor1, "sensor-1").WithWillTopic("devices/sensor-1/gone").WithWillPayload("bye"));
        await using var refused = await GateClient.ConnectAsync(GateClient.Tls(gate, fleet.Sensor2, "sensor-2").WithWillTopic("devices/sensor-1/gone").WithWillPayload("bye"));

        Assert.True(allowed.Accepted, allowed.ConnectError?.ToString());
        AssertRefused(refused);
        var decision = Assert.Single(gate.DecisionsOf("Connect", DecisionNames.ImplicitDeny));
        Assert.Equal("iot:Publish", decision.Action);
        Assert.Equal(GateFleet.Arn + "topic/devices/sensor-1/gone", decision.Resource);
    }

    [Fact]
    public async Task An_empty_client_id_is_refused()
    {
        await using var scope = await GateScope.StartAsync();
        var (fleet, gate) = (scope.Fleet, scope.Gate);
        await using var client = await GateClient.ConnectAsync(GateClient.Tls(gate, fleet.Sensor1, ""));

        AssertRefused(client);
        Assert.Single(gate.DecisionsOf("Connect", DecisionNames.InvalidRequest));
    }

    private static void AssertRefused(GateClient client)
    {
        Assert.False(client.Accepted);
        Assert.True(client.ConnectError is not null || client.ConnectResult!.ResultCode != MqttClientConnectResultCode.Success);
    }
}
