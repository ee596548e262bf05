using System.Net;
using ExtAuthz.Identity.Decisions;
using ExtAuthz.Mqtt.Codec;
using ExtAuthz.Mqtt.Gate;
using ExtAuthz.Mqtt.Upstream;
using ExtAuthz.Tests.Shared;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Server;

namespace ExtAuthz.Mqtt.Tests.Gate;

/// <summary>What a broken client, a takeover or a lost broker does to one connection, and that the gate serves on.</summary>
public sealed class RobustnessTests
{
    [Fact]
    public async Task A_malformed_packet_closes_that_connection_only_with_disconnect_0x81()
    {
        await using var scope = await GateScope.StartAsync();
        await using var bystander = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor2, "sensor-2"));
        await using var raw = await RawClient.ConnectAsync(scope.Gate, scope.Fleet.Sensor1, scope.Fleet.Ca);
        await raw.SendAsync(RawClient.Connect("sensor-1"));
        Assert.Equal(MqttPacketType.ConnAck, (await raw.ReceiveAsync())!.Type);

        // A PUBLISH asking for QoS 3.
        await raw.SendAsync(0x36, 0x05, 0x00, 0x01, (byte)'a', 0x00, 0x01);

        var disconnect = await raw.ReceiveAsync();
        Assert.Equal(MqttPacketType.Disconnect, disconnect!.Type);
        Assert.Equal(MqttReasonCodes.MalformedPacket, disconnect.ReasonCode);
        Assert.Null(await raw.ReceiveAsync());
        Assert.Contains("QoS 3", Assert.Single(scope.Gate.DecisionsOf("Protocol", DecisionNames.InvalidRequest)).Reason, StringComparison.Ordinal);
        Assert.True((await bystander.Client.PublishAsync(GateClient.Message("devices/sensor-2/fine"))).IsSuccess);
    }

    [Fact]
    public async Task A_packet_over_the_limit_closes_the_connection_with_disconnect_0x95()
    {
        await using var scope = await GateScope.StartAsync(options => options with { Gate = options.Gate with { MaxPacketSize = 1024 } });
        await using var raw = await RawClient.ConnectAsync(scope.Gate, scope.Fleet.Sensor1, scope.Fleet.Ca);
        await raw.SendAsync(RawClient.Connect("sensor-1"));
        await raw.ReceiveAsync();

        // A PUBLISH announcing 2,000 bytes: refused on its fixed header.
        await raw.SendAsync(0x30, 0xD0, 0x0F);

        Assert.Equal(MqttReasonCodes.PacketTooLarge, (await raw.ReceiveAsync())!.ReasonCode);
        Assert.Null(await raw.ReceiveAsync());
    }

    [Fact]
    public async Task A_connection_that_sends_no_connect_in_time_is_closed()
    {
        await using var scope = await GateScope.StartAsync(options => options with { Gate = options.Gate with { ConnectTimeout = TimeSpan.FromMilliseconds(300) } });
        await using var raw = await RawClient.ConnectAsync(scope.Gate, scope.Fleet.Sensor1, scope.Fleet.Ca);

        Assert.Null(await raw.ReceiveAsync(within: TimeSpan.FromSeconds(5)));
        Assert.Contains("no CONNECT within", Assert.Single(scope.Gate.DecisionsOf("Protocol", DecisionNames.InvalidRequest)).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_first_packet_that_is_not_connect_closes_the_connection()
    {
        await using var scope = await GateScope.StartAsync();
        await using var raw = await RawClient.ConnectAsync(scope.Gate, scope.Fleet.Sensor1, scope.Fleet.Ca);

        await raw.SendAsync(0xC0, 0x00);

        Assert.Null(await raw.ReceiveAsync());
        Assert.Contains("CONNECT", Assert.Single(scope.Gate.DecisionsOf("Protocol", DecisionNames.InvalidRequest)).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_mqtt31_client_is_told_its_protocol_version_is_unacceptable()
    {
        await using var scope = await GateScope.StartAsync();
        await using var raw = await RawClient.ConnectAsync(scope.Gate, scope.Fleet.Sensor1, scope.Fleet.Ca);

        await raw.SendAsync(RawClient.Connect("sensor-1", level: 3));

        var connack = await raw.ReceiveAsync(MqttVersion.V311);
        Assert.Equal(MqttReasonCodes.V311UnacceptableProtocolVersion, connack!.ConnAck!.ReturnCode);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task A_second_connection_with_the_same_client_id_takes_over(MqttProtocolVersion version)
    {
        await using var scope = await GateScope.StartAsync();
        await using var first = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1", version));
        await using var second = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1", version));

        var ended = await first.DisconnectedWithin(TimeSpan.FromSeconds(5));

        if (version == MqttProtocolVersion.V500)
        {
            Assert.Equal(MqttClientDisconnectReason.SessionTakenOver, ended.Reason);
        }

        Assert.True(second.Client.IsConnected);
        Assert.True((await second.Client.PublishAsync(GateClient.Message("devices/sensor-1/after"))).IsSuccess);
        await Eventually.True(() => scope.Gate.Host.Gate!.ConnectionCount == 1);

        // The older connection's end did not unregister the newer one: a revocation still reaches it.
        scope.Fleet.WriteRegistry(sensor1Status: "REVOKED");
        await second.DisconnectedWithin(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task When_the_broker_goes_away_its_clients_are_closed_and_new_ones_refused_while_the_gate_serves_on()
    {
        var broker = await StartBrokerAsync();
        await using var scope = await GateScope.StartAsync(options => options with { Broker = new BrokerEndpoint("127.0.0.1", broker.Port, Tls: false) });
        await using var client = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1"));
        Assert.True(client.Accepted, client.ConnectError?.ToString());

        await broker.Server.StopAsync();
        broker.Server.Dispose();

        await client.DisconnectedWithin(TimeSpan.FromSeconds(5));
        await using var refused = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1"));
        Assert.False(refused.Accepted);
        Assert.Equal(MqttClientConnectResultCode.ServerUnavailable, refused.ConnectResult?.ResultCode ?? MqttClientConnectResultCode.ServerUnavailable);
        Assert.Contains("cannot be reached", Assert.Single(scope.Gate.DecisionsOf("Connect", DecisionNames.Unavailable)).Reason, StringComparison.Ordinal);
        Assert.Null(scope.Gate.Host.EmbeddedBroker);

        // The broker is back: so is service, with no restart of the gate.
        var again = await StartBrokerAsync(broker.Port);
        try
        {
            await using var back = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1"));
            Assert.True(back.Accepted, back.ConnectError?.ToString());
        }
        finally
        {
            await again.Server.StopAsync();
            again.Server.Dispose();
        }
    }

    private static async Task<(MqttServer Server, int Port)> StartBrokerAsync(int port = 0)
    {
        if (port == 0)
        {
            port = FreePorts.Next();
        }

        var server = new MqttServerFactory().CreateMqttServer(new MqttServerOptionsBuilder()
            .WithDefaultEndpoint().WithDefaultEndpointBoundIPAddress(IPAddress.Loopback).WithDefaultEndpointBoundIPV6Address(IPAddress.None)
            .WithDefaultEndpointPort(port).WithDefaultEndpointReuseAddress().Build());
        await server.StartAsync();
        return (server, port);
    }
}
