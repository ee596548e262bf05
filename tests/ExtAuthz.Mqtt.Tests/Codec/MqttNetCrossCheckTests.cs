using System.Buffers;
using System.Text;
using ExtAuthz.Mqtt.Codec;
using MQTTnet.Adapter;
using MQTTnet.Protocol;
using Net = MQTTnet.Packets;
using NetFormatter = MQTTnet.Formatter;
using static ExtAuthz.Mqtt.Tests.Codec.Wire;

namespace ExtAuthz.Mqtt.Tests.Codec;

/// <summary>
/// An independent implementation as the second opinion: what MQTTnet's encoder writes, the codec reads to the
/// same fields, and what the codec's writer produces, MQTTnet's decoder reads back.
/// </summary>
public sealed class MqttNetCrossCheckTests
{
    private const MqttVersion V3 = MqttVersion.V311;
    private const MqttVersion V5 = MqttVersion.V500;

    public static TheoryData<MqttVersion> Versions => [V3, V5];

    [Fact]
    public void MQTTnet_writes_the_spec_layout_the_hand_built_vectors_use()
    {
        var connect = new Net.MqttConnectPacket { ClientId = "c", CleanSession = true, KeepAlivePeriod = 60 };

        Assert.Equal(Hex("10 0D 00 04 4D 51 54 54 04 02 00 3C 00 01 63"), Encode(V3, connect));
        Assert.Equal(Connect311("c"), Encode(V3, connect));
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void Connect(MqttVersion version)
    {
        var packet = new Net.MqttConnectPacket
        {
            ClientId = "sensor-1",
            CleanSession = false,
            KeepAlivePeriod = 45,
            Username = "alice",
            Password = [1, 2, 3],
            WillFlag = true,
            WillTopic = "lwt/sensor-1",
            WillMessage = Encoding.UTF8.GetBytes("gone"),
            WillQoS = MqttQualityOfServiceLevel.ExactlyOnce,
            WillRetain = true,
        };
        if (version == V5)
        {
            packet.SessionExpiryInterval = 3600;
            packet.ReceiveMaximum = 32;
            packet.MaximumPacketSize = 65_536;
            packet.TopicAliasMaximum = 8;
            packet.WillDelayInterval = 10;
            packet.WillContentType = "text/plain";
            packet.WillResponseTopic = "reply/to";
            packet.UserProperties = [new("k", Encoding.UTF8.GetBytes("v").AsMemory())];
        }

        var parsed = Parse(Encode(version, packet), null);
        var connect = parsed.Connect!;

        Assert.Equal(version, parsed.Version);
        Assert.Equal(("sensor-1", false, (ushort)45, "lwt/sensor-1", (byte)2, true, "alice", true),
            (connect.ClientId, connect.CleanSession, connect.KeepAliveSeconds, connect.WillTopic, connect.WillQos, connect.WillRetain, connect.UserName,
                connect.HasPassword));
        Assert.Equal(new byte[] { 1, 2, 3 }, connect.Password.ToArray());
        if (version == V5)
        {
            Assert.Equal((3600u, (ushort)32, 65_536u, (ushort)8),
                (connect.SessionExpiryInterval!.Value, connect.ReceiveMaximum!.Value, connect.MaximumPacketSize!.Value, connect.TopicAliasMaximum!.Value));
        }
    }

    [Fact]
    public void ConnAck()
    {
        var v3 = Parse(Encode(V3, new Net.MqttConnAckPacket { ReturnCode = MqttConnectReturnCode.ConnectionRefusedNotAuthorized }), V3, Down);
        Assert.Equal(new ConnAckPacket(false, 5), v3.ConnAck);

        var v5 = Parse(Encode(V5, new Net.MqttConnAckPacket
        {
            ReasonCode = MqttConnectReasonCode.Success,
            IsSessionPresent = true,
            AssignedClientIdentifier = "auto-1",
            ServerKeepAlive = 30,
            TopicAliasMaximum = 16,
            MaximumPacketSize = 1024,
            ReceiveMaximum = 100,
            ReasonString = "hello",
            MaximumQoS = MqttQualityOfServiceLevel.AtLeastOnce,
            RetainAvailable = true,
            WildcardSubscriptionAvailable = true,
            SharedSubscriptionAvailable = true,
            SubscriptionIdentifiersAvailable = true,
        }), V5, Down);
        var connAck = v5.ConnAck!;
        Assert.Equal((true, (byte)0, "auto-1", (ushort)30, (ushort)16, 1024u, (ushort)100),
            (connAck.SessionPresent, connAck.ReturnCode, connAck.AssignedClientIdentifier, connAck.ServerKeepAliveSeconds!.Value,
                connAck.TopicAliasMaximum!.Value, connAck.MaximumPacketSize!.Value, connAck.ReceiveMaximum!.Value));
        Assert.Equal("hello", v5.ReasonString);
    }

    [Theory]
    [InlineData(V3, 0, false, false)]
    [InlineData(V3, 1, true, true)]
    [InlineData(V3, 2, false, true)]
    [InlineData(V5, 0, true, false)]
    [InlineData(V5, 1, false, false)]
    [InlineData(V5, 2, true, true)]
    public void Publish(MqttVersion version, int qos, bool retain, bool dup)
    {
        var packet = new Net.MqttPublishPacket
        {
            Topic = "sensors/température",
            QualityOfServiceLevel = (MqttQualityOfServiceLevel)qos,
            Retain = retain,
            Dup = dup,
            PacketIdentifier = qos > 0 ? (ushort)4242 : (ushort)0,
            Payload = new ReadOnlySequence<byte>(new byte[300]),
        };
        if (version == V5)
        {
            packet.TopicAlias = 2;
            packet.ContentType = "application/octet-stream";
            packet.ResponseTopic = "reply/1";
            packet.CorrelationData = [7];
            packet.MessageExpiryInterval = 60;
            packet.PayloadFormatIndicator = MqttPayloadFormatIndicator.Unspecified;
            packet.UserProperties = [new("a", Encoding.UTF8.GetBytes("b").AsMemory())];
        }

        var publish = Parse(Encode(version, packet), version).Publish!;

        Assert.Equal(new PublishPacket("sensors/température", (byte)qos, retain, dup, qos > 0 ? (ushort)4242 : (ushort)0, version == V5 ? (ushort)2 : null, 300),
            publish);
    }

    [Fact]
    public void Publish_from_the_server_with_subscription_identifiers()
    {
        var packet = new Net.MqttPublishPacket { Topic = "a/b", SubscriptionIdentifiers = [1, 268_435_455], Payload = new ReadOnlySequence<byte>([1]) };

        Assert.Equal("a/b", Parse(Encode(V5, packet), V5, Down).Publish!.Topic);
        Assert.Contains("a client's PUBLISH must not carry it", Refusal(Encode(V5, packet), V5, Up), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void Acknowledgements(MqttVersion version)
    {
        var v5 = version == V5;
        var packets = new (Net.MqttPacket Packet, MqttPacketType Type, byte Code)[]
        {
            (new Net.MqttPubAckPacket { PacketIdentifier = 1, ReasonCode = v5 ? MqttPubAckReasonCode.NotAuthorized : 0, ReasonString = v5 ? "r" : null },
                MqttPacketType.PubAck, v5 ? (byte)0x87 : (byte)0),
            (new Net.MqttPubRecPacket { PacketIdentifier = 2, ReasonCode = v5 ? MqttPubRecReasonCode.NoMatchingSubscribers : 0 }, MqttPacketType.PubRec,
                v5 ? (byte)0x10 : (byte)0),
            (new Net.MqttPubRelPacket { PacketIdentifier = 3, ReasonCode = v5 ? MqttPubRelReasonCode.PacketIdentifierNotFound : 0 }, MqttPacketType.PubRel,
                v5 ? (byte)0x92 : (byte)0),
            (new Net.MqttPubCompPacket { PacketIdentifier = 4 }, MqttPacketType.PubComp, 0),
        };

        foreach (var (packet, type, code) in packets)
        {
            var parsed = Parse(Encode(version, packet), version, Down);
            Assert.Equal((type, ((Net.MqttPacketWithIdentifier)packet).PacketIdentifier, v5 ? code : (byte?)null),
                (parsed.Type, parsed.PacketId, parsed.ReasonCode));
        }
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void Subscribe_and_SubAck(MqttVersion version)
    {
        var v5 = version == V5;
        var subscribe = new Net.MqttSubscribePacket
        {
            PacketIdentifier = 77,
            TopicFilters =
            [
                new Net.MqttTopicFilter { Topic = "sensors/+/temp", QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce },
                new Net.MqttTopicFilter
                {
                    Topic = "#",
                    QualityOfServiceLevel = MqttQualityOfServiceLevel.ExactlyOnce,
                    NoLocal = v5,
                    RetainAsPublished = v5,
                    RetainHandling = v5 ? MqttRetainHandling.DoNotSendOnSubscribe : MqttRetainHandling.SendAtSubscribe,
                },
            ],
            SubscriptionIdentifier = v5 ? 99u : 0,
        };

        var parsed = Parse(Encode(version, subscribe), version).Subscribe!;

        Assert.Equal(77, parsed.PacketId);
        Assert.Equal(new TopicSubscription[] { new("sensors/+/temp", 1), new("#", v5 ? (byte)0x2E : (byte)2) }, parsed.Subscriptions);
        Assert.Equal(v5 ? 99u : null, parsed.SubscriptionIdentifier);

        var subAck = new Net.MqttSubAckPacket
        {
            PacketIdentifier = 77,
            ReasonCodes = [MqttSubscribeReasonCode.GrantedQoS1, MqttSubscribeReasonCode.UnspecifiedError],
            ReasonString = v5 ? "half" : null,
        };
        var ack = Parse(Encode(version, subAck), version, Down);
        Assert.Equal(new byte[] { 1, 0x80 }, ack.SubAck!.ReasonCodes);
        Assert.Equal(v5 ? "half" : null, ack.ReasonString);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void Unsubscribe_UnsubAck_pings_and_disconnect(MqttVersion version)
    {
        var v5 = version == V5;
        var unsubscribe = Parse(Encode(version, new Net.MqttUnsubscribePacket { PacketIdentifier = 5, TopicFilters = ["a/#", "b"] }), version).Unsubscribe!;
        Assert.Equal(new[] { "a/#", "b" }, unsubscribe.Filters);

        var unsubAck = new Net.MqttUnsubAckPacket { PacketIdentifier = 5, ReasonCodes = [MqttUnsubscribeReasonCode.Success, MqttUnsubscribeReasonCode.NoSubscriptionExisted] };
        Assert.Equal(5, Parse(Encode(version, unsubAck), version, Down).PacketId);

        Assert.Equal(MqttPacketType.PingReq, Parse(Encode(version, new Net.MqttPingReqPacket()), version).Type);
        Assert.Equal(MqttPacketType.PingResp, Parse(Encode(version, new Net.MqttPingRespPacket()), version, Down).Type);

        var disconnect = new Net.MqttDisconnectPacket { ReasonCode = v5 ? MqttDisconnectReasonCode.DisconnectWithWillMessage : 0, SessionExpiryInterval = v5 ? 5u : 0 };
        Assert.Equal(v5 ? (byte)0x04 : null, Parse(Encode(version, disconnect), version).ReasonCode);
    }

    [Fact]
    public void Auth()
    {
        var auth = new Net.MqttAuthPacket
        {
            ReasonCode = MqttAuthenticateReasonCode.ContinueAuthentication,
            AuthenticationMethod = "SCRAM-SHA-256",
            AuthenticationData = [1, 2],
            ReasonString = "step 2",
        };
        var parsed = Parse(Encode(V5, auth), V5, Down);

        Assert.Equal((MqttPacketType.Auth, (byte?)0x18, "step 2"), (parsed.Type, parsed.ReasonCode, parsed.ReasonString));
    }

    [Fact]
    public void MQTTnet_reads_what_the_writer_writes()
    {
        var connAck3 = Assert.IsType<Net.MqttConnAckPacket>(Decode(V3, MqttPacketWriter.ConnAck(V3, false, MqttReasonCodes.V311NotAuthorized)));
        Assert.Equal(MqttConnectReturnCode.ConnectionRefusedNotAuthorized, connAck3.ReturnCode);

        var connAck5 = Assert.IsType<Net.MqttConnAckPacket>(Decode(V5, MqttPacketWriter.ConnAck(V5, false, MqttReasonCodes.NotAuthorized, "denied")));
        Assert.Equal((MqttConnectReasonCode.NotAuthorized, "denied"), (connAck5.ReasonCode, connAck5.ReasonString));

        var pubAck = Assert.IsType<Net.MqttPubAckPacket>(Decode(V5, MqttPacketWriter.PubAck(V5, 9, MqttReasonCodes.NotAuthorized, "no")));
        Assert.Equal(((ushort)9, MqttPubAckReasonCode.NotAuthorized, "no"), (pubAck.PacketIdentifier, pubAck.ReasonCode, pubAck.ReasonString));
        Assert.Equal((ushort)9, Assert.IsType<Net.MqttPubAckPacket>(Decode(V3, MqttPacketWriter.PubAck(V3, 9))).PacketIdentifier);
        Assert.IsType<Net.MqttPubRecPacket>(Decode(V5, MqttPacketWriter.PubRec(V5, 9, MqttReasonCodes.QuotaExceeded)));
        Assert.IsType<Net.MqttPubRelPacket>(Decode(V5, MqttPacketWriter.PubRel(V5, 9)));
        Assert.IsType<Net.MqttPubCompPacket>(Decode(V3, MqttPacketWriter.PubComp(V3, 9)));

        var subAck = Assert.IsType<Net.MqttSubAckPacket>(Decode(V5, MqttPacketWriter.SubAck(V5, 3, [0x01, 0x87], "one denied")));
        Assert.Equal([MqttSubscribeReasonCode.GrantedQoS1, MqttSubscribeReasonCode.NotAuthorized], subAck.ReasonCodes);
        Assert.Equal("one denied", subAck.ReasonString);
        var subAck3 = Assert.IsType<Net.MqttSubAckPacket>(Decode(V3, MqttPacketWriter.SubAck(V3, 3, [0x00, 0x80])));
        Assert.Equal([MqttSubscribeReasonCode.GrantedQoS0, MqttSubscribeReasonCode.UnspecifiedError], subAck3.ReasonCodes);

        var subscribe = Assert.IsType<Net.MqttSubscribePacket>(Decode(V5, MqttPacketWriter.Subscribe(V5, 4, [new("a/+", 0x19)], Hex("02 0B 0C"))));
        Assert.Equal((12u, "a/+", MqttQualityOfServiceLevel.AtLeastOnce, MqttRetainHandling.SendAtSubscribeIfNewSubscriptionOnly, true),
            (subscribe.SubscriptionIdentifier, subscribe.TopicFilters[0].Topic, subscribe.TopicFilters[0].QualityOfServiceLevel, subscribe.TopicFilters[0].RetainHandling,
                subscribe.TopicFilters[0].RetainAsPublished));

        var disconnect = Assert.IsType<Net.MqttDisconnectPacket>(Decode(V5, MqttPacketWriter.Disconnect(V5, MqttReasonCodes.PacketTooLarge, "too big")));
        Assert.Equal((MqttDisconnectReasonCode.PacketTooLarge, "too big"), (disconnect.ReasonCode, disconnect.ReasonString));
        Assert.IsType<Net.MqttPingRespPacket>(Decode(V3, MqttPacketWriter.PingResp()));
    }

    private static NetFormatter.MqttProtocolVersion ToNet(MqttVersion version) =>
        version == V5 ? NetFormatter.MqttProtocolVersion.V500 : NetFormatter.MqttProtocolVersion.V311;

    private static byte[] Encode(MqttVersion version, Net.MqttPacket packet) =>
        new NetFormatter.MqttPacketFormatterAdapter(ToNet(version), new NetFormatter.MqttBufferWriter(4096, 65_536)).Encode(packet).ToArray();

    private static Net.MqttPacket Decode(MqttVersion version, byte[] bytes)
    {
        var headerLength = 2;
        while ((bytes[headerLength - 1] & 0x80) != 0)
        {
            headerLength++;
        }

        var adapter = new NetFormatter.MqttPacketFormatterAdapter(ToNet(version), new NetFormatter.MqttBufferWriter(4096, 65_536));
        return adapter.Decode(new ReceivedMqttPacket(bytes[0], new ArraySegment<byte>(bytes, headerLength, bytes.Length - headerLength), bytes.Length));
    }
}
