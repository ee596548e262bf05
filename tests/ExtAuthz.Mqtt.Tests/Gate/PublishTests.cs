using ExtAuthz.Identity.Decisions;
using ExtAuthz.Mqtt.Gate;
using ExtAuthz.Mqtt.Hosting;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace ExtAuthz.Mqtt.Tests.Gate;

/// <summary>PUBLISH from a client: iot:Publish on topic/{topic}, and iot:RetainPublish when retained; a refusal never reaches the broker.</summary>
public sealed class PublishTests
{
    [Theory]
    [InlineData(MqttProtocolVersion.V311, MqttQualityOfServiceLevel.AtMostOnce)]
    [InlineData(MqttProtocolVersion.V311, MqttQualityOfServiceLevel.AtLeastOnce)]
    [InlineData(MqttProtocolVersion.V311, MqttQualityOfServiceLevel.ExactlyOnce)]
    [InlineData(MqttProtocolVersion.V500, MqttQualityOfServiceLevel.AtMostOnce)]
    [InlineData(MqttProtocolVersion.V500, MqttQualityOfServiceLevel.AtLeastOnce)]
    [InlineData(MqttProtocolVersion.V500, MqttQualityOfServiceLevel.ExactlyOnce)]
    public async Task An_allowed_publish_reaches_subscribers_at_every_qos(MqttProtocolVersion version, MqttQualityOfServiceLevel qos)
    {
        await using var scope = await GateScope.StartAsync();
        await using var subscriber = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor2, "sensor-2", version));
        await subscriber.Client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("a/#", qos).Build());
        await using var publisher = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1", version));

        var result = await publisher.Client.PublishAsync(GateClient.Message("a/open", qos));

        Assert.True(result.IsSuccess, result.ReasonString);
        await Eventually.True(() => subscriber.Received.Contains("a/open"));
        Assert.Contains(("a/open", false), scope.Gate.BrokerPublishes);
        Assert.True(publisher.Client.IsConnected);
    }

    [Theory]
    [InlineData(MqttQualityOfServiceLevel.AtLeastOnce)]
    [InlineData(MqttQualityOfServiceLevel.ExactlyOnce)]
    public async Task A_refused_mqtt5_publish_is_answered_not_authorized_with_the_reason(MqttQualityOfServiceLevel qos)
    {
        await using var scope = await GateScope.StartAsync();
        await using var client = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1"));

        var refused = await client.Client.PublishAsync(GateClient.Message("devices/sensor-2/temp", qos));
        var denied = await client.Client.PublishAsync(GateClient.Message("devices/sensor-1/secret", qos));
        var allowed = await client.Client.PublishAsync(GateClient.Message("devices/sensor-1/temp", qos));

        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, refused.ReasonCode);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, denied.ReasonCode);
        Assert.True(allowed.IsSuccess);
        Assert.True(client.Client.IsConnected);
        Assert.Equal(["devices/sensor-1/temp"], scope.Gate.BrokerPublishes.Select(p => p.Topic));
        var decision = Assert.Single(scope.Gate.DecisionsOf("Publish", DecisionNames.ExplicitDeny));
        Assert.Equal(("DevicePolicy", "NoSecrets"), (decision.Policy, decision.Statement));
        if (qos == MqttQualityOfServiceLevel.AtLeastOnce)
        {
            // MQTTnet shows a PUBACK's reason string; for QoS 2 it reports the PUBREC's code only.
            Assert.Contains("no policy of certificate", refused.ReasonString, StringComparison.Ordinal);
            Assert.Equal($"{decision.Reason} (decision {decision.DecisionId})", denied.ReasonString);
        }
    }

    [Fact]
    public async Task A_reason_string_that_would_exceed_the_client_maximum_packet_size_is_left_out()
    {
        await using var scope = await GateScope.StartAsync();
        await using var client = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1").WithMaximumPacketSize(64));

        var refused = await client.Client.PublishAsync(GateClient.Message("devices/sensor-2/temp"));

        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, refused.ReasonCode);
        Assert.Null(refused.ReasonString);
        Assert.True(client.Client.IsConnected);
    }

    [Fact]
    public async Task A_refused_mqtt5_qos0_publish_is_dropped_and_logged()
    {
        await using var scope = await GateScope.StartAsync();
        await using var client = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1"));

        await client.Client.PublishAsync(GateClient.Message("devices/sensor-2/temp", MqttQualityOfServiceLevel.AtMostOnce));
        await client.Client.PublishAsync(GateClient.Message("devices/sensor-2/temp", MqttQualityOfServiceLevel.AtMostOnce));
        await client.Client.PublishAsync(GateClient.Message("devices/sensor-1/temp", MqttQualityOfServiceLevel.AtLeastOnce));

        Assert.Equal(["devices/sensor-1/temp"], scope.Gate.BrokerPublishes.Select(p => p.Topic));

        // Cached after the first, logged every time, each under its own ID.
        var refusals = scope.Gate.DecisionsOf("Publish", DecisionNames.ImplicitDeny);
        Assert.Equal(2, refusals.Length);
        Assert.NotEqual(refusals[0].DecisionId, refusals[1].DecisionId);
    }

    [Fact]
    public async Task A_refused_mqtt311_publish_closes_the_connection_as_aws_does()
    {
        await using var scope = await GateScope.StartAsync();
        await using var client = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1", MqttProtocolVersion.V311));

        await Assert.ThrowsAnyAsync<Exception>(() => client.Client.PublishAsync(GateClient.Message("devices/sensor-2/temp")));

        await client.DisconnectedWithin(TimeSpan.FromSeconds(5));
        Assert.Empty(scope.Gate.BrokerPublishes);
    }

    [Theory]
    [InlineData(MqttQualityOfServiceLevel.AtLeastOnce)]
    [InlineData(MqttQualityOfServiceLevel.ExactlyOnce)]
    public async Task In_drop_mode_a_refused_mqtt311_publish_is_acknowledged_and_dropped(MqttQualityOfServiceLevel qos)
    {
        await using var scope = await GateScope.StartAsync(options => options with { Gate = options.Gate with { DeniedPublishV311 = DeniedPublishV311.Drop } });
        await using var client = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1", MqttProtocolVersion.V311));

        var refused = await client.Client.PublishAsync(GateClient.Message("devices/sensor-2/temp", qos));
        var allowed = await client.Client.PublishAsync(GateClient.Message("devices/sensor-1/temp", qos));

        Assert.True(refused.IsSuccess);
        Assert.True(allowed.IsSuccess);
        Assert.True(client.Client.IsConnected);
        Assert.Equal(["devices/sensor-1/temp"], scope.Gate.BrokerPublishes.Select(p => p.Topic));
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task A_retained_publish_needs_iot_RetainPublish_too(MqttProtocolVersion version)
    {
        await using var scope = await GateScope.StartAsync(options => options with { Gate = options.Gate with { DeniedPublishV311 = DeniedPublishV311.Drop } });
        await using var client = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1", version));

        await client.Client.PublishAsync(GateClient.Message("devices/sensor-1/status", retain: true));
        await client.Client.PublishAsync(GateClient.Message("devices/sensor-1/temp", retain: true));

        Assert.Equal([("devices/sensor-1/status", true)], scope.Gate.BrokerPublishes);
        var refusal = Assert.Single(scope.Gate.DecisionsOf("Publish", DecisionNames.ImplicitDeny));
        Assert.Equal("iot:RetainPublish", refusal.Action);
        Assert.NotNull(await scope.Gate.Host.EmbeddedBroker!.Server.GetRetainedMessageAsync("devices/sensor-1/status"));
    }

    [Fact]
    public async Task A_topic_aws_refuses_is_answered_topic_name_invalid()
    {
        await using var scope = await GateScope.StartAsync();
        await using var client = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1"));

        var reserved = await client.Client.PublishAsync(GateClient.Message("$SYS/devices/sensor-1"));
        var deep = await client.Client.PublishAsync(GateClient.Message("devices/sensor-1/1/2/3/4/5/6/7"));

        Assert.Equal(MqttClientPublishReasonCode.TopicNameInvalid, reserved.ReasonCode);
        Assert.Equal(MqttClientPublishReasonCode.TopicNameInvalid, deep.ReasonCode);
        Assert.Equal(2, scope.Gate.DecisionsOf("Publish", DecisionNames.InvalidRequest).Length);
        Assert.Empty(scope.Gate.BrokerPublishes);
    }

    [Fact]
    public async Task Topic_aliases_are_followed_and_a_refused_binding_never_confuses_the_broker()
    {
        await using var scope = await GateScope.StartAsync();
        await using var client = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1").WithTopicAliasMaximum(10));

        // Alias 1 bound to an allowed topic, then rebound to a refused one (which the broker never sees), then used alone.
        var bind = await client.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("devices/sensor-1/a").WithTopicAlias(1).WithPayload("1").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        var rebind = await client.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("devices/sensor-2/b").WithTopicAlias(1).WithPayload("2").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        var aliasOnly = await client.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("").WithTopicAlias(1).WithPayload("3").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

        Assert.True(bind.IsSuccess);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, rebind.ReasonCode);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, aliasOnly.ReasonCode);
        Assert.Equal(["devices/sensor-1/a"], scope.Gate.BrokerPublishes.Select(p => p.Topic));
        Assert.True(client.Client.IsConnected);
    }

    [Fact]
    public async Task An_allowed_alias_the_broker_never_learnt_is_forwarded_with_its_topic_written_in()
    {
        await using var scope = await GateScope.StartAsync();
        await using var client = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1").WithTopicAliasMaximum(10));

        // The binding PUBLISH is refused (retained, without iot:RetainPublish), so the broker never learns alias 3.
        var bind = await client.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("devices/sensor-1/temp").WithTopicAlias(3).WithRetainFlag().WithPayload("1").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        var aliasOnly = await client.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("").WithTopicAlias(3).WithPayload("2").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        var again = await client.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("").WithTopicAlias(3).WithPayload("3").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, bind.ReasonCode);
        Assert.True(aliasOnly.IsSuccess, aliasOnly.ReasonString);
        Assert.True(again.IsSuccess, again.ReasonString);
        Assert.Equal(["devices/sensor-1/temp", "devices/sensor-1/temp"], scope.Gate.BrokerPublishes.Select(p => p.Topic));
    }

    [Fact]
    public async Task Under_dry_run_a_refused_publish_goes_through_and_is_logged_as_not_enforced()
    {
        await using var scope = await GateScope.StartAsync(options => options with { Gate = options.Gate with { DryRun = true } });
        await using var client = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1"));

        var result = await client.Client.PublishAsync(GateClient.Message("devices/sensor-2/temp"));

        Assert.True(result.IsSuccess);
        Assert.Equal(["devices/sensor-2/temp"], scope.Gate.BrokerPublishes.Select(p => p.Topic));
        Assert.False(Assert.Single(scope.Gate.DecisionsOf("Publish", DecisionNames.ImplicitDeny)).Enforced);
    }

    [Fact]
    public void The_intake_header_names_are_what_docs_mqtt_md_tells_envoy_to_send()
    {
        Assert.Equal("x-extauthz-client-cert", MqttGateHost.CertificateHeader);
        Assert.Equal("x-extauthz-session", MqttGateHost.SessionHeader);
    }
}
