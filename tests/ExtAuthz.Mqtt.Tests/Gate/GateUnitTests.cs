using System.Buffers;
using System.Net;
using System.Text;
using ExtAuthz.Mqtt.Codec;
using ExtAuthz.Mqtt.Gate;
using ExtAuthz.Mqtt.Hosting;
using ExtAuthz.Mqtt.Upstream;

namespace ExtAuthz.Mqtt.Tests.Gate;

/// <summary>The gate's small parts on their own: topic aliases, the intake guard, broker addresses.</summary>
public sealed class GateUnitTests
{
    [Theory]
    [InlineData(0, 10)]
    [InlineData(0, 200)]
    [InlineData(1, 300)]
    [InlineData(2, 20_000)]
    public void An_alias_only_publish_gets_its_topic_written_in_and_reads_back_whole(byte qos, int payloadLength)
    {
        var topic = "devices/sensor-1/" + new string('t', 40) + "/é";
        var original = AliasOnlyPublish(qos, alias: 7, payloadLength);

        var rewritten = TopicAliases.WithTopic(original, topic);

        var buffer = new ReadOnlySequence<byte>(rewritten);
        Assert.Equal(MqttReadStatus.Packet, MqttPacketReader.TryRead(ref buffer, MqttVersion.V500, MqttDirection.ClientToServer, 1 << 20, out var packet, out var error));
        Assert.Null(error);
        Assert.True(buffer.IsEmpty);
        var publish = packet!.Publish!;
        Assert.Equal((topic, qos, (ushort?)7, payloadLength), (publish.Topic, publish.Qos, publish.TopicAlias, publish.PayloadLength));
        Assert.Equal(original.AsSpan(original.Length - payloadLength).ToArray(), rewritten.AsSpan(rewritten.Length - payloadLength).ToArray());
    }

    [Fact]
    public void Aliases_resolve_as_the_sender_set_them_and_track_what_the_receiver_learnt()
    {
        var aliases = new TopicAliases();

        Assert.False(aliases.TryResolve("", 1, out _));
        Assert.True(aliases.TryResolve("a/b", 1, out var bound));
        Assert.True(aliases.TryResolve("", 1, out var resolved));
        Assert.True(aliases.TryResolve("plain", null, out var plain));

        Assert.Equal(("a/b", "a/b", "plain"), (bound, resolved, plain));
        Assert.False(aliases.Forwarding("", 1, "a/b"));
        Assert.True(aliases.Forwarding("", 1, "a/b"));
        Assert.True(aliases.Forwarding("c/d", 1, "c/d"));
        Assert.False(aliases.Forwarding("", 1, "a/b"));
    }

    [Theory]
    [InlineData("127.0.0.1", null, true)]
    [InlineData("127.8.9.10", null, true)]
    [InlineData("::1", null, true)]
    [InlineData("::ffff:127.0.0.1", null, true)]
    [InlineData("10.1.2.3", null, false)]
    [InlineData("192.168.1.1", null, false)]
    public void By_default_only_loopback_may_use_the_envoy_intakes(string peer, string? secret, bool admitted)
    {
        var guard = new IntakeGuard(IntakeGuard.Loopback, null);

        Assert.Equal(admitted, guard.Refusal(IPAddress.Parse(peer), secret) is null);
    }

    [Fact]
    public void A_configured_list_and_secret_are_both_required()
    {
        var guard = new IntakeGuard([IPNetwork.Parse("10.0.0.0/8")], "s3cret");

        Assert.Null(guard.Refusal(IPAddress.Parse("10.2.3.4"), "s3cret"));
        Assert.Contains("secret", guard.Refusal(IPAddress.Parse("10.2.3.4"), "S3cret"), StringComparison.Ordinal);
        Assert.Contains("secret", guard.Refusal(IPAddress.Parse("10.2.3.4"), null), StringComparison.Ordinal);
        Assert.Contains("allow list", guard.Refusal(IPAddress.Loopback, "s3cret"), StringComparison.Ordinal);
        Assert.NotNull(guard.Refusal(null, "s3cret"));
    }

    [Theory]
    [InlineData("broker:1883", "broker", 1883, false)]
    [InlineData("broker.internal:8883,tls", "broker.internal", 8883, true)]
    [InlineData("10.0.0.5:1883", "10.0.0.5", 1883, false)]
    [InlineData("[::1]:1883", "::1", 1883, false)]
    public void Broker_addresses_parse(string text, string host, int port, bool tls)
    {
        var endpoint = BrokerEndpoint.Parse(text);

        Assert.Equal(new BrokerEndpoint(host, port, tls), endpoint);
        Assert.Equal(text, endpoint.ToString());
    }

    [Theory]
    [InlineData("broker")]
    [InlineData("broker:")]
    [InlineData(":1883")]
    [InlineData("broker:0")]
    [InlineData("broker:70000")]
    [InlineData("broker:1883,ssl")]
    public void Bad_broker_addresses_are_refused(string text) => Assert.Throws<ArgumentException>(() => BrokerEndpoint.Parse(text));

    /// <summary>An MQTT 5 PUBLISH with an empty topic name, a Topic Alias property and a payload.</summary>
    private static byte[] AliasOnlyPublish(byte qos, ushort alias, int payloadLength)
    {
        var body = new List<byte> { 0, 0 };
        if (qos > 0)
        {
            body.AddRange([0, 9]);
        }

        body.AddRange([3, 0x23, (byte)(alias >> 8), (byte)alias]);
        body.AddRange(Encoding.ASCII.GetBytes(new string('p', payloadLength)));
        var length = new List<byte>();
        var value = body.Count;
        do
        {
            var digit = (byte)(value % 128);
            value /= 128;
            length.Add(value > 0 ? (byte)(digit | 0x80) : digit);
        }
        while (value > 0);

        return [(byte)(0x30 | (qos << 1)), .. length, .. body];
    }
}
