using ExtAuthz.Mqtt.Codec;
using static ExtAuthz.Mqtt.Tests.Codec.Wire;

namespace ExtAuthz.Mqtt.Tests.Codec;

/// <summary>The packets the gate sends itself: exact bytes, read back, and refused arguments.</summary>
public sealed class MqttPacketWriterTests
{
    private const MqttVersion V3 = MqttVersion.V311;
    private const MqttVersion V5 = MqttVersion.V500;

    [Fact]
    public void ConnAck_bytes()
    {
        Assert.Equal(Hex("20 02 00 05"), MqttPacketWriter.ConnAck(V3, false, MqttReasonCodes.V311NotAuthorized));
        Assert.Equal(Hex("20 02 01 00"), MqttPacketWriter.ConnAck(V3, true, MqttReasonCodes.V311ConnectionAccepted, "ignored in 3.1.1"));
        Assert.Equal(Hex("20 03 00 87 00"), MqttPacketWriter.ConnAck(V5, false, MqttReasonCodes.NotAuthorized));
        Assert.Equal(Packet(0x20, B(0x00, 0x87), Props(B(0x1F), Str("denied"))), MqttPacketWriter.ConnAck(V5, false, MqttReasonCodes.NotAuthorized, "denied"));
        Assert.Equal(Hex("20 0C 00 87 09 1F 00 06 64 65 6E 69 65 64"), MqttPacketWriter.ConnAck(V5, false, 0x87, "denied"));
    }

    [Fact]
    public void Acknowledgement_bytes()
    {
        Assert.Equal(Hex("40 02 00 07"), MqttPacketWriter.PubAck(V3, 7));
        Assert.Equal(Hex("50 02 00 07"), MqttPacketWriter.PubRec(V3, 7));
        Assert.Equal(Hex("62 02 00 07"), MqttPacketWriter.PubRel(V3, 7));
        Assert.Equal(Hex("70 02 00 07"), MqttPacketWriter.PubComp(V3, 7, reasonString: "ignored in 3.1.1"));
        Assert.Equal(Hex("40 02 00 07"), MqttPacketWriter.PubAck(V5, 7));
        Assert.Equal(Hex("40 03 00 07 87"), MqttPacketWriter.PubAck(V5, 7, MqttReasonCodes.NotAuthorized));
        Assert.Equal(Hex("40 09 00 07 87 05 1F 00 02 6E 6F"), MqttPacketWriter.PubAck(V5, 7, MqttReasonCodes.NotAuthorized, "no"));
        Assert.Equal(Hex("40 08 00 07 00 04 1F 00 01 6F"), MqttPacketWriter.PubAck(V5, 7, MqttReasonCodes.Success, "o"));
        Assert.Equal(Hex("50 03 00 07 10"), MqttPacketWriter.PubRec(V5, 7, MqttReasonCodes.NoMatchingSubscribers));
        Assert.Equal(Hex("62 03 00 07 92"), MqttPacketWriter.PubRel(V5, 7, MqttReasonCodes.PacketIdentifierNotFound));
        Assert.Equal(Hex("70 03 00 07 92"), MqttPacketWriter.PubComp(V5, 7, MqttReasonCodes.PacketIdentifierNotFound));
    }

    [Fact]
    public void SubAck_bytes()
    {
        Assert.Equal(Hex("90 04 00 03 01 80"), MqttPacketWriter.SubAck(V3, 3, [MqttReasonCodes.GrantedQos1, MqttReasonCodes.V311SubscribeFailure]));
        Assert.Equal(Hex("90 04 00 03 00 87"), MqttPacketWriter.SubAck(V5, 3, [MqttReasonCodes.NotAuthorized]));
        Assert.Equal(Hex("90 08 00 03 04 1F 00 01 78 87"), MqttPacketWriter.SubAck(V5, 3, [MqttReasonCodes.NotAuthorized], "x"));
    }

    [Fact]
    public void Subscribe_bytes_keep_the_original_properties()
    {
        Assert.Equal(Hex("82 08 00 04 00 03 61 2F 23 01"), MqttPacketWriter.Subscribe(V3, 4, [new("a/#", 1)], default));
        Assert.Equal(Hex("82 09 00 04 00 00 03 61 2F 23 01"), MqttPacketWriter.Subscribe(V5, 4, [new("a/#", 1)], default));

        // The gate drops a denied filter and forwards the rest with the client's own properties.
        var original = Parse(Packet(0x82, U16(4), Props(B(0x0B, 5), B(0x26), Str("k"), Str("v")), Str("ok/#"), B(0x21), Str("denied"), B(1)), V5).Subscribe!;
        var rewritten = MqttPacketWriter.Subscribe(V5, original.PacketId, [original.Subscriptions[0]], original.Properties);

        Assert.Equal(Packet(0x82, U16(4), Props(B(0x0B, 5), B(0x26), Str("k"), Str("v")), Str("ok/#"), B(0x21)), rewritten);
        var reread = Parse(rewritten, V5).Subscribe!;
        Assert.Equal(5u, reread.SubscriptionIdentifier);
        Assert.Equal(new TopicSubscription[] { new("ok/#", 0x21) }, reread.Subscriptions);
    }

    [Fact]
    public void Disconnect_and_PingResp_bytes()
    {
        Assert.Equal(Hex("E0 00"), MqttPacketWriter.Disconnect(V3));
        Assert.Equal(Hex("E0 00"), MqttPacketWriter.Disconnect(V3, MqttReasonCodes.MalformedPacket, "3.1.1 has no reasons"));
        Assert.Equal(Hex("E0 00"), MqttPacketWriter.Disconnect(V5));
        Assert.Equal(Hex("E0 01 81"), MqttPacketWriter.Disconnect(V5, MqttReasonCodes.MalformedPacket));
        Assert.Equal(Hex("E0 0A 8E 08 1F 00 05 74 61 6B 65 6E"), MqttPacketWriter.Disconnect(V5, MqttReasonCodes.SessionTakenOver, "taken"));
        Assert.Equal(Hex("D0 00"), MqttPacketWriter.PingResp());
    }

    [Fact]
    public void Written_packets_read_back()
    {
        var connAck = Parse(MqttPacketWriter.ConnAck(V5, false, MqttReasonCodes.NotAuthorized, "policy p1 denies iot:Connect"), V5, Down);
        Assert.Equal(new ConnAckPacket(false, 0x87), connAck.ConnAck);
        Assert.Equal("policy p1 denies iot:Connect", connAck.ReasonString);

        var pubAck = Parse(MqttPacketWriter.PubAck(V5, 513, MqttReasonCodes.NotAuthorized, "é 🌡"), V5, Down);
        Assert.Equal((MqttPacketType.PubAck, 513, (byte?)0x87, "é 🌡"), (pubAck.Type, (int)pubAck.PacketId, pubAck.ReasonCode, pubAck.ReasonString));

        var subAck = Parse(MqttPacketWriter.SubAck(V3, 9, [0, 1, 2, 0x80]), V3, Down);
        Assert.Equal(new byte[] { 0, 1, 2, 0x80 }, subAck.SubAck!.ReasonCodes);

        var disconnect = Parse(MqttPacketWriter.Disconnect(V5, MqttReasonCodes.PacketTooLarge, "the limit is 131072 bytes"), V5, Down);
        Assert.Equal(((byte?)0x95, "the limit is 131072 bytes"), (disconnect.ReasonCode, disconnect.ReasonString));

        var rel = Parse(MqttPacketWriter.PubRel(V5, 2), V5, Up);
        Assert.Equal((MqttPacketType.PubRel, 2, (byte?)0), (rel.Type, (int)rel.PacketId, rel.ReasonCode));
    }

    [Fact]
    public void A_long_reason_string_gets_a_multi_byte_property_length()
    {
        var reason = new string('r', 300);
        var packet = Parse(MqttPacketWriter.Disconnect(V5, MqttReasonCodes.NotAuthorized, reason), V5, Down);

        Assert.Equal(reason, packet.ReasonString);
        Assert.Equal(Hex("E0 B2 02 87 AF 02 1F 01 2C"), packet.Raw[..9].ToArray());
    }

    [Fact]
    public void Arguments_that_would_make_an_invalid_packet_throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MqttPacketWriter.PubAck(V3, 7, MqttReasonCodes.NotAuthorized));
        Assert.Throws<ArgumentOutOfRangeException>(() => MqttPacketWriter.PubRec(V3, 7, MqttReasonCodes.NotAuthorized));

        Assert.Equal("the arguments make an invalid packet: PUBACK packet identifier is 0 (byte 2); MQTT requires a non-zero one",
            Assert.Throws<ArgumentException>(() => MqttPacketWriter.PubAck(V5, 0)).Message);
        Assert.Equal("the arguments make an invalid packet: PUBREL reason code 0x87 at byte 4 is not one MQTT 5 defines for PUBREL",
            Assert.Throws<ArgumentException>(() => MqttPacketWriter.PubRel(V5, 1, MqttReasonCodes.NotAuthorized)).Message);
        Assert.Equal("the arguments make an invalid packet: CONNACK sets session present with the refusing return code 0x05, which MQTT forbids",
            Assert.Throws<ArgumentException>(() => MqttPacketWriter.ConnAck(V3, true, MqttReasonCodes.V311NotAuthorized)).Message);
        Assert.Equal("the arguments make an invalid packet: CONNACK return code 0x87 at byte 3 is not one MQTT 3.1.1 defines for CONNACK",
            Assert.Throws<ArgumentException>(() => MqttPacketWriter.ConnAck(V3, false, MqttReasonCodes.NotAuthorized)).Message);
        Assert.Contains("SUBACK reason code 0x87 at byte 4 is not one MQTT 3.1.1 defines",
            Assert.Throws<ArgumentException>(() => MqttPacketWriter.SubAck(V3, 1, [MqttReasonCodes.NotAuthorized])).Message, StringComparison.Ordinal);
        Assert.Contains("SUBACK has no reason code", Assert.Throws<ArgumentException>(() => MqttPacketWriter.SubAck(V5, 1, [])).Message, StringComparison.Ordinal);
        Assert.Contains("SUBSCRIBE topic filter has '#' at byte 8",
            Assert.Throws<ArgumentException>(() => MqttPacketWriter.Subscribe(V3, 1, [new("a/#/b", 0)], default)).Message, StringComparison.Ordinal);
        Assert.Contains("SUBSCRIBE has no topic filter", Assert.Throws<ArgumentException>(() => MqttPacketWriter.Subscribe(V5, 1, [], default)).Message,
            StringComparison.Ordinal);
        Assert.Contains("unknown property identifier",
            Assert.Throws<ArgumentException>(() => MqttPacketWriter.Subscribe(V5, 1, [new("a", 0)], Hex("02 05 00"))).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => MqttPacketWriter.Subscribe(V3, 1, [new("a", 0)], Hex("00")));
        Assert.Contains("contains U+0000", Assert.Throws<ArgumentException>(() => MqttPacketWriter.Disconnect(V5, 0x81, "a\0b")).Message, StringComparison.Ordinal);
        Assert.Throws<System.Text.EncoderFallbackException>(() => MqttPacketWriter.Disconnect(V5, 0x81, "lone \uD800"));
        Assert.Throws<ArgumentException>(() => MqttPacketWriter.Disconnect(V5, 0x81, new string('x', 65_536)));
        Assert.Throws<ArgumentOutOfRangeException>(() => MqttPacketWriter.Disconnect((MqttVersion)6));
    }
}
