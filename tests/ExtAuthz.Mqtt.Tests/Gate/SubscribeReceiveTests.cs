using ExtAuthz.Identity.Decisions;
using ExtAuthz.Mqtt.Gate;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace ExtAuthz.Mqtt.Tests.Gate;

/// <summary>SUBSCRIBE (iot:Subscribe per filter) and delivery (iot:Receive per message).</summary>
public sealed class SubscribeReceiveTests
{
    [Theory]
    [InlineData(MqttProtocolVersion.V311, MqttClientSubscribeResultCode.UnspecifiedError)]
    [InlineData(MqttProtocolVersion.V500, MqttClientSubscribeResultCode.NotAuthorized)]
    public async Task Mixed_filters_in_one_subscribe_get_their_own_answers_in_order(MqttProtocolVersion version, MqttClientSubscribeResultCode refused)
    {
        await using var scope = await GateScope.StartAsync();
        await using var client = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1", version));
        await using var other = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor2, "sensor-2", version));

        // One QoS for all: MQTTnet's broker answers a SUBSCRIBE's codes sorted by QoS, not in the order asked.
        var result = await client.Client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter("devices/sensor-2/#", MqttQualityOfServiceLevel.AtLeastOnce)
            .WithTopicFilter("devices/sensor-1/+", MqttQualityOfServiceLevel.AtLeastOnce)
            .WithTopicFilter("b/#", MqttQualityOfServiceLevel.AtLeastOnce)
            .WithTopicFilter("a/#", MqttQualityOfServiceLevel.AtLeastOnce)
            .Build());

        Assert.Equal([refused, MqttClientSubscribeResultCode.GrantedQoS1, refused, MqttClientSubscribeResultCode.GrantedQoS1], result.Items.Select(i => i.ResultCode));
        Assert.Equal(["topicfilter/devices/sensor-2/#", "topicfilter/b/#"],
            scope.Gate.DecisionsOf("Subscribe", DecisionNames.ImplicitDeny).Select(d => d.Resource![GateFleet.Arn.Length..]));

        Assert.Equal(["devices/sensor-1/+", "a/#"], scope.Gate.BrokerSubscriptions);

        // A message on a refused filter never comes.
        await other.Client.PublishAsync(GateClient.Message("devices/sensor-2/x"));
        await other.Client.PublishAsync(GateClient.Message("a/x"));
        await Eventually.True(() => client.Received.Contains("a/x"));
        Assert.DoesNotContain("devices/sensor-2/x", client.Received);
        Assert.True(client.Client.IsConnected);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task A_subscribe_with_no_allowed_filter_is_answered_by_the_gate(MqttProtocolVersion version)
    {
        await using var scope = await GateScope.StartAsync();
        await using var client = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1", version));

        var result = await client.Client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("devices/sensor-2/#").WithTopicFilter("#").Build());

        Assert.All(result.Items, item => Assert.True((int)item.ResultCode >= 0x80));
        Assert.Empty(scope.Gate.BrokerSubscriptions);
        Assert.True(client.Client.IsConnected);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311, MqttQualityOfServiceLevel.AtMostOnce)]
    [InlineData(MqttProtocolVersion.V311, MqttQualityOfServiceLevel.AtLeastOnce)]
    [InlineData(MqttProtocolVersion.V500, MqttQualityOfServiceLevel.AtLeastOnce)]
    [InlineData(MqttProtocolVersion.V500, MqttQualityOfServiceLevel.ExactlyOnce)]
    public async Task Subscribed_to_a_hash_the_client_still_does_not_receive_what_iot_Receive_refuses(MqttProtocolVersion version, MqttQualityOfServiceLevel qos)
    {
        // The AWS guide's pitfall: allowing topicfilter/a/* lets a client subscribe to a/#; only iot:Receive
        // (Allow with NotResource topic/a/restricted/*) keeps a/restricted/... from it.
        await using var scope = await GateScope.StartAsync();
        await using var subscriber = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1", version));
        var subscribed = await subscriber.Client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("a/#", qos).Build());
        await using var publisher = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor2, "sensor-2", version));

        for (var i = 0; i < 3; i++)
        {
            await publisher.Client.PublishAsync(GateClient.Message("a/restricted/x", qos));
            await publisher.Client.PublishAsync(GateClient.Message("a/open", qos));
        }

        Assert.Equal((int)qos, (int)Assert.Single(subscribed.Items).ResultCode);
        await Eventually.True(() => subscriber.Received.Count(t => t == "a/open") == 3);
        Assert.DoesNotContain("a/restricted/x", subscriber.Received);
        Assert.Equal(3, scope.Gate.DecisionsOf("Receive", DecisionNames.ImplicitDeny).Length);
        Assert.True(subscriber.Client.IsConnected);

        // The gate acknowledged the refused messages to the broker: nothing is left in flight for the client.
        await Eventually.True(async () => (await scope.Gate.Host.EmbeddedBroker!.Server.GetSessionAsync("sensor-1")).PendingApplicationMessagesCount == 0);
    }

    [Fact]
    public async Task A_retained_message_is_delivered_on_subscribe_only_when_receive_is_allowed()
    {
        await using var scope = await GateScope.StartAsync();
        await scope.Gate.Host.EmbeddedBroker!.Server.UpdateRetainedMessageAsync(GateClient.Message("a/restricted/kept", retain: true));
        await scope.Gate.Host.EmbeddedBroker.Server.UpdateRetainedMessageAsync(GateClient.Message("a/kept", retain: true));
        await using var client = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1"));

        await client.Client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("a/#", MqttQualityOfServiceLevel.AtLeastOnce).Build());

        await Eventually.True(() => client.Received.Contains("a/kept"));
        Assert.DoesNotContain("a/restricted/kept", client.Received);
    }
}
