using System.Buffers;
using ExtAuthz.Mqtt.Codec;
using static ExtAuthz.Tests.Shared.Sequences;
using static ExtAuthz.Mqtt.Tests.Codec.Wire;

namespace ExtAuthz.Mqtt.Tests.Codec;

/// <summary>Every packet type in both versions, built byte by byte from the specifications' layouts, read exactly.</summary>
public sealed class MqttPacketReaderTests
{
    private const MqttVersion V3 = MqttVersion.V311;
    private const MqttVersion V5 = MqttVersion.V500;

    [Fact]
    public void Minimal_311_connect_from_the_spec_layout()
    {
        var packet = Parse(Hex("10 0D 00 04 4D 51 54 54 04 02 00 3C 00 01 63"), null);

        Assert.Equal(MqttPacketType.Connect, packet.Type);
        Assert.Equal(0, packet.Flags);
        Assert.Equal(V3, packet.Version);
        var connect = packet.Connect!;
        Assert.Equal(new ConnectPacket(V3, "c", true, 60, null, 0, false, null, false, ReadOnlyMemory<byte>.Empty, null), connect with { Password = default });
        Assert.False(connect.HasWill);
        Assert.Null(packet.ReasonCode);
        Assert.Equal(0, packet.PacketId);
    }

    [Fact]
    public void Full_311_connect_with_will_user_name_and_password()
    {
        // Flags 0xEE: user name, password, will retain, will QoS 1, will, clean session.
        var bytes = Packet(0x10, Str("MQTT"), B(4, 0xEE), U16(30), Str("sensor-1"), Str("lwt/sensor-1"), Str("bye"), Str("alice"), Bin(1, 2, 3));
        var connect = Parse(bytes, null).Connect!;

        Assert.Equal(new ConnectPacket(V3, "sensor-1", true, 30, "lwt/sensor-1", 1, true, "alice", true, default, null), connect with { Password = default });
        Assert.Equal(new byte[] { 1, 2, 3 }, connect.Password.ToArray());
        Assert.True(connect.HasWill);
        Assert.Null(connect.ReceiveMaximum);
        Assert.DoesNotContain("1, 2, 3", connect.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Connect_with_clean_session_off_and_an_empty_client_id_is_left_to_the_broker()
    {
        // MQTT 3.1.1 wants CONNACK 0x02 for this, which is the server's answer, not a malformation.
        var connect = Parse(Packet(0x10, Str("MQTT"), B(4, 0x00), U16(0), Str("")), null).Connect!;

        Assert.Equal("", connect.ClientId);
        Assert.False(connect.CleanSession);
        Assert.Equal(0, connect.KeepAliveSeconds);
    }

    [Fact]
    public void Full_5_connect_with_properties_will_properties_and_a_password_without_user_name()
    {
        var properties = Props(
            B(0x11), U32(3600), // session expiry interval
            B(0x21), U16(20), // receive maximum
            B(0x27), U32(4096), // maximum packet size
            B(0x22), U16(5), // topic alias maximum
            B(0x17, 0), // request problem information
            B(0x19, 1), // request response information
            B(0x26), Str("k"), Str("v"), B(0x26), Str("k"), Str("v2"), // user properties may repeat
            B(0x15), Str("SCRAM-SHA-1"), // authentication method
            B(0x16), Bin(9, 9)); // authentication data
        var willProperties = Props(B(0x18), U32(5), B(0x01, 1), B(0x02), U32(60), B(0x03), Str("text/plain"), B(0x08), Str("reply/here"), B(0x09), Bin(7),
            B(0x26), Str("a"), Str("b"));

        // Flags 0x4C: password, will QoS 1, will; no clean start, no user name (MQTT 5 allows that).
        var bytes = Packet(0x10, Str("MQTT"), B(5, 0x4C), U16(600), properties, Str("dev-1"), willProperties, Str("status/dev-1"), Bin(0xFF), Bin(4, 2));
        var packet = Parse(bytes, null);
        var connect = packet.Connect!;

        Assert.Equal(V5, packet.Version);
        var expected = new ConnectPacket(V5, "dev-1", false, 600, "status/dev-1", 1, false, null, true, default, 3600)
        {
            ReceiveMaximum = 20,
            MaximumPacketSize = 4096,
            TopicAliasMaximum = 5,
            AuthenticationMethod = "SCRAM-SHA-1",
        };
        Assert.Equal(expected, connect with { Password = default });
        Assert.Equal(new byte[] { 4, 2 }, connect.Password.ToArray());
        Assert.Null(packet.ReasonCode);
    }

    [Fact]
    public void Connect_5_without_properties_has_no_session_expiry()
    {
        var connect = Parse(Packet(0x10, Str("MQTT"), B(5, 0x02), U16(10), Props(), Str("x")), null).Connect!;

        Assert.Null(connect.SessionExpiryInterval);
        Assert.Null(connect.AuthenticationMethod);
        Assert.True(connect.CleanSession);
    }

    [Theory]
    [InlineData("20 02 00 00", false, 0)]
    [InlineData("20 02 01 00", true, 0)]
    [InlineData("20 02 00 05", false, 5)]
    [InlineData("20 02 00 01", false, 1)]
    public void ConnAck_311(string hex, bool sessionPresent, byte code)
    {
        var packet = Parse(Hex(hex), V3, Down);

        Assert.Equal(new ConnAckPacket(sessionPresent, code), packet.ConnAck);
        Assert.Null(packet.ReasonCode);
    }

    [Fact]
    public void ConnAck_5_with_every_property()
    {
        var properties = Props(B(0x11), U32(0), B(0x21), U16(50), B(0x24, 1), B(0x25, 0), B(0x27), U32(2048), B(0x12), Str("auto-7"), B(0x22), U16(7),
            B(0x1F), Str("welcome"), B(0x26), Str("k"), Str("v"), B(0x28, 1), B(0x29, 0), B(0x2A, 1), B(0x13), U16(120), B(0x1A), Str("info"),
            B(0x1C), Str("other.example"), B(0x15), Str("m"), B(0x16), Bin(1));
        var packet = Parse(Packet(0x20, B(0x01, 0x00), properties), V5, Down);
        var connAck = packet.ConnAck!;

        var expected = new ConnAckPacket(true, 0)
        {
            MaximumPacketSize = 2048,
            TopicAliasMaximum = 7,
            ReceiveMaximum = 50,
            ServerKeepAliveSeconds = 120,
            AssignedClientIdentifier = "auto-7",
        };
        Assert.Equal(expected, connAck);
        Assert.Equal((byte)0, packet.ReasonCode);
        Assert.Equal("welcome", packet.ReasonString);
    }

    [Fact]
    public void ConnAck_5_refusal()
    {
        var packet = Parse(Packet(0x20, B(0x00, 0x87), Props(B(0x1F), Str("no"))), V5, Down);

        Assert.Equal(new ConnAckPacket(false, 0x87), packet.ConnAck);
        Assert.Equal((byte)0x87, packet.ReasonCode);
        Assert.Equal("no", packet.ReasonString);
    }

    [Theory]
    [InlineData(0x30, 0, false, false)]
    [InlineData(0x31, 0, true, false)]
    [InlineData(0x32, 1, false, false)]
    [InlineData(0x3B, 1, true, true)]
    [InlineData(0x34, 2, false, false)]
    [InlineData(0x3D, 2, true, true)]
    public void Publish_311_flags(byte first, byte qos, bool retain, bool dup)
    {
        var bytes = Packet(first, Str("a/b"), qos > 0 ? U16(10) : [], B((byte)'h', (byte)'i'));
        foreach (var direction in new[] { Up, Down })
        {
            var packet = Parse(bytes, V3, direction);

            Assert.Equal(new PublishPacket("a/b", qos, retain, dup, qos > 0 ? (ushort)10 : (ushort)0, null, 2), packet.Publish);
            Assert.Equal(first & 0x0F, packet.Flags);
            Assert.Equal(qos > 0 ? 10 : 0, packet.PacketId);
        }
    }

    [Fact]
    public void Publish_topics_keep_every_character_MQTT_allows()
    {
        foreach (var topic in new[] { "$aws/things/t1/shadow/update", "$SYS/broker", "/", "a//b", "capteur/température/🌡", "\uFEFFbom", " spaced " })
        {
            Assert.Equal(topic, Parse(Packet(0x30, Str(topic)), V3).Publish!.Topic);
        }
    }

    [Fact]
    public void Publish_with_an_empty_payload()
    {
        Assert.Equal(0, Parse(Packet(0x30, Str("t")), V3).Publish!.PayloadLength);
    }

    [Fact]
    public void Publish_5_with_properties()
    {
        var properties = Props(B(0x01, 1), B(0x02), U32(30), B(0x23), U16(3), B(0x08), Str("resp/1"), B(0x09), Bin(1, 2), B(0x26), Str("k"), Str("v"),
            B(0x03), Str("application/json"));
        var packet = Parse(Packet(0x33, Str("dev/1/temp"), U16(77), properties, B(1, 2, 3, 4)), V5);

        Assert.Equal(new PublishPacket("dev/1/temp", 1, true, false, 77, 3, 4), packet.Publish);
    }

    [Fact]
    public void Publish_5_with_a_topic_alias_and_no_topic_leaves_resolution_to_the_gate()
    {
        var packet = Parse(Packet(0x30, Str(""), Props(B(0x23), U16(3)), B(9)), V5);

        Assert.Equal(new PublishPacket("", 0, false, false, 0, 3, 1), packet.Publish);
    }

    [Fact]
    public void Publish_5_from_the_server_may_carry_several_subscription_identifiers()
    {
        var packet = Parse(Packet(0x30, Str("a"), Props(B(0x0B, 0x01), B(0x0B, 0xFF, 0xFF, 0xFF, 0x7F))), V5, Down);

        Assert.Equal("a", packet.Publish!.Topic);
    }

    [Theory]
    [InlineData(0x40, MqttPacketType.PubAck)]
    [InlineData(0x50, MqttPacketType.PubRec)]
    [InlineData(0x62, MqttPacketType.PubRel)]
    [InlineData(0x70, MqttPacketType.PubComp)]
    public void Acknowledgements_311(byte first, MqttPacketType type)
    {
        foreach (var direction in new[] { Up, Down })
        {
            var packet = Parse(B(first, 2, 0x12, 0x34), V3, direction);

            Assert.Equal(type, packet.Type);
            Assert.Equal(0x1234, packet.PacketId);
            Assert.Null(packet.ReasonCode);
        }
    }

    [Theory]
    [InlineData(0x40, 0x10)]
    [InlineData(0x50, 0x87)]
    [InlineData(0x62, 0x92)]
    [InlineData(0x70, 0x00)]
    public void Acknowledgements_5_in_all_three_lengths(byte first, byte code)
    {
        var shortest = Parse(B(first, 2, 0, 9), V5);
        Assert.Equal((byte)0, shortest.ReasonCode);
        Assert.Equal(9, shortest.PacketId);

        var withCode = Parse(B(first, 3, 0, 9, code), V5);
        Assert.Equal(code, withCode.ReasonCode);
        Assert.Null(withCode.ReasonString);

        var withProperties = Parse(Packet(first, U16(9), B(code), Props(B(0x1F), Str("why"), B(0x26), Str("k"), Str("v"))), V5, Down);
        Assert.Equal(code, withProperties.ReasonCode);
        Assert.Equal("why", withProperties.ReasonString);

        var emptyProperties = Parse(B(first, 4, 0, 9, code, 0), V5);
        Assert.Equal(code, emptyProperties.ReasonCode);
    }

    [Fact]
    public void Subscribe_311()
    {
        var packet = Parse(Packet(0x82, U16(10), Str("a/+"), B(1), Str("#"), B(0), Str("$share/g/x/#"), B(2)), V3);

        Assert.Equal(10, packet.PacketId);
        var subscribe = packet.Subscribe!;
        Assert.Equal(10, subscribe.PacketId);
        Assert.Equal(new TopicSubscription[] { new("a/+", 1), new("#", 0), new("$share/g/x/#", 2) }, subscribe.Subscriptions);
        Assert.True(subscribe.Properties.IsEmpty);
        Assert.Null(subscribe.SubscriptionIdentifier);
    }

    [Fact]
    public void Subscribe_5_with_options_and_properties()
    {
        var properties = Props(B(0x0B, 0x80, 0x01), B(0x26), Str("k"), Str("v"));

        // 0x2E: retain handling 2, retain as published, no local, QoS 2.
        var bytes = Packet(0x82, U16(11), properties, Str("sensors/+/temp"), B(0x2E), Str("$share/g/x"), B(0x11));
        var subscribe = Parse(bytes, V5).Subscribe!;

        Assert.Equal(128u, subscribe.SubscriptionIdentifier);
        Assert.Equal(properties, subscribe.Properties.ToArray());
        var first = subscribe.Subscriptions[0];
        Assert.Equal(("sensors/+/temp", 2, true, true, 2), (first.Filter, first.Qos, first.NoLocal, first.RetainAsPublished, first.RetainHandling));
        var second = subscribe.Subscriptions[1];
        Assert.Equal(("$share/g/x", 1, false, false, 1), (second.Filter, second.Qos, second.NoLocal, second.RetainAsPublished, second.RetainHandling));
    }

    [Fact]
    public void SubAck_in_both_versions()
    {
        var v3 = Parse(Hex("90 05 00 0A 01 80 02"), V3, Down);
        Assert.Equal(10, v3.PacketId);
        Assert.Equal(new byte[] { 1, 0x80, 2 }, v3.SubAck!.ReasonCodes);
        Assert.Null(v3.ReasonString);

        var v5 = Parse(Packet(0x90, U16(11), Props(B(0x1F), Str("partly")), B(0x00, 0x87, 0x8F, 0xA2)), V5, Down);
        Assert.Equal(11, v5.SubAck!.PacketId);
        Assert.Equal(new byte[] { 0x00, 0x87, 0x8F, 0xA2 }, v5.SubAck.ReasonCodes);
        Assert.Equal("partly", v5.ReasonString);
    }

    [Fact]
    public void Unsubscribe_and_UnsubAck_in_both_versions()
    {
        var v3 = Parse(Packet(0xA2, U16(12), Str("a/#"), Str("b")), V3);
        Assert.Equal(12, v3.Unsubscribe!.PacketId);
        Assert.Equal(new[] { "a/#", "b" }, v3.Unsubscribe.Filters);

        var v5 = Parse(Packet(0xA2, U16(13), Props(B(0x26), Str("k"), Str("v")), Str("+")), V5);
        Assert.Equal(new[] { "+" }, v5.Unsubscribe!.Filters);

        Assert.Equal(12, Parse(Hex("B0 02 00 0C"), V3, Down).PacketId);
        var ack = Parse(Packet(0xB0, U16(13), Props(B(0x1F), Str("done")), B(0x00, 0x11)), V5, Down);
        Assert.Equal(13, ack.PacketId);
        Assert.Equal("done", ack.ReasonString);
        Assert.Null(ack.ReasonCode);
    }

    [Fact]
    public void Pings_and_disconnects()
    {
        foreach (var version in new[] { V3, V5 })
        {
            Assert.Equal(MqttPacketType.PingReq, Parse(Hex("C0 00"), version).Type);
            Assert.Equal(MqttPacketType.PingResp, Parse(Hex("D0 00"), version, Down).Type);
            Assert.Equal(MqttPacketType.Disconnect, Parse(Hex("E0 00"), version).Type);
        }

        Assert.Null(Parse(Hex("E0 00"), V3).ReasonCode);
        Assert.Equal((byte)0, Parse(Hex("E0 00"), V5).ReasonCode);
        Assert.Equal((byte)0x04, Parse(Hex("E0 01 04"), V5).ReasonCode);
        Assert.Equal((byte)0x8E, Parse(Hex("E0 02 8E 00"), V5, Down).ReasonCode);
        var withProperties = Parse(Packet(0xE0, B(0x00), Props(B(0x11), U32(10), B(0x1F), Str("bye"))), V5);
        Assert.Equal("bye", withProperties.ReasonString);
        Assert.Equal("moved", Parse(Packet(0xE0, B(0x9D), Props(B(0x1C), Str("elsewhere"), B(0x1F), Str("moved"))), V5, Down).ReasonString);
    }

    [Fact]
    public void Auth_5_either_empty_or_with_a_method()
    {
        var empty = Parse(Hex("F0 00"), V5, Down);
        Assert.Equal(MqttPacketType.Auth, empty.Type);
        Assert.Equal((byte)0, empty.ReasonCode);

        var packet = Parse(Packet(0xF0, B(0x18), Props(B(0x15), Str("SCRAM-SHA-1"), B(0x16), Bin(1, 2), B(0x1F), Str("go on"))), V5);
        Assert.Equal((byte)0x18, packet.ReasonCode);
        Assert.Equal("go on", packet.ReasonString);
    }

    [Fact]
    public void A_stream_of_packets_is_read_one_at_a_time()
    {
        var stream = Concat(Connect311(), Packet(0x82, U16(1), Str("t"), B(1)), Packet(0x32, Str("t"), U16(2), B(7)), Hex("C0 00"), Hex("E0 00"));
        var buffer = new ReadOnlySequence<byte>(stream);
        MqttVersion? version = null;
        var types = new List<MqttPacketType>();
        while (MqttPacketReader.TryRead(ref buffer, version, Up, MqttPacketReader.DefaultMaxPacketSize, out var packet, out _) == MqttReadStatus.Packet)
        {
            version ??= packet!.Connect!.Version;
            types.Add(packet!.Type);
        }

        Assert.Equal(new[] { MqttPacketType.Connect, MqttPacketType.Subscribe, MqttPacketType.Publish, MqttPacketType.PingReq, MqttPacketType.Disconnect },
            types);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void Raw_is_a_copy_that_outlives_the_pipe_buffer()
    {
        var bytes = Packet(0x30, Str("a"), B(1, 2));
        var packet = Parse(bytes, V3);
        bytes.AsSpan().Clear();

        Assert.Equal(Packet(0x30, Str("a"), B(1, 2)), packet.Raw.ToArray());
        Assert.Equal("PUBLISH (MQTT 3.1.1, 7 bytes)", packet.ToString());
    }

    [Fact]
    public void A_publish_allocates_only_its_raw_copy_its_topic_and_two_small_objects()
    {
        const string topic = "sensors/sensor-1/temperature";
        var bytes = Packet(0x32, Str(topic), U16(5), Props(B(0x23), U16(3), B(0x26), Str("k"), Str("v"), B(0x02), U32(9), B(0x08), Str("re/ply")), new byte[100]);
        var segmented = Segmented(bytes, 7, 20, 60);
        const int rounds = 1000;
        for (var i = 0; i < rounds; i++)
        {
            var warm = segmented;
            _ = MqttPacketReader.TryRead(ref warm, V5, Up, MqttPacketReader.DefaultMaxPacketSize, out _, out _);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < rounds; i++)
        {
            var buffer = segmented;
            _ = MqttPacketReader.TryRead(ref buffer, V5, Up, MqttPacketReader.DefaultMaxPacketSize, out _, out _);
        }

        var perPacket = (GC.GetAllocatedBytesForCurrentThread() - before) / rounds;

        // Array and string headers are 24 and 22 bytes on 64-bit; PublishPacket and MqttPacket are well under 64 bytes each.
        var budget = (24 + bytes.Length) + (22 + (2 * topic.Length)) + (2 * 64);
        Assert.InRange(perPacket, 24 + bytes.Length, budget);
    }

    [Fact]
    public void Remaining_length_in_more_bytes_than_needed_is_MQTT_311_only()
    {
        // 3.1.1 describes the encoding without requiring the shortest form; MQTT 5 requires it.
        Assert.Equal(3, Read(Hex("C0 80 00"), V3).Consumed);
        var connect = Hex("10 8D 00 00 04 4D 51 54 54 04 02 00 3C 00 01 63");
        Assert.Equal(MqttVersion.V311, Parse(connect, null).Version);

        Assert.Equal("PINGREQ remaining length is not in the fewest bytes possible, which MQTT 5 requires", Refusal(Hex("C0 80 00"), V5));
        Assert.Equal("CONNECT remaining length is not in the fewest bytes possible, which MQTT 5 requires",
            Refusal(Hex("10 8E 00 00 04 4D 51 54 54 05 02 00 3C 00 00 01 63"), null));
    }

    [Fact]
    public void Remaining_length_boundaries()
    {
        // Remaining lengths 127/128 and 16,383/16,384 are where the encoding grows a byte.
        foreach (var payload in new[] { 0, 124, 125, 16_380, 16_381, 131_000 })
        {
            var bytes = Packet(0x30, Str("t"), new byte[payload]);
            Assert.Equal(payload, Parse(bytes, V3).Publish!.PayloadLength);
        }
    }

    [Fact]
    public void Too_large_is_known_from_the_fixed_header_alone()
    {
        // 0x80 0x80 0x0D: remaining length 13 × 16384 = 212,992; only the 4 header bytes are buffered.
        var result = Read(Hex("30 80 80 0D"), V3);

        Assert.Equal(MqttReadStatus.TooLarge, result.Status);
        Assert.Equal("PUBLISH is 212996 bytes (remaining length 212992); the limit is 131072", result.Error);
        Assert.Equal(0, result.Consumed);
    }

    [Fact]
    public void The_limit_counts_the_whole_packet()
    {
        var bytes = Packet(0x30, Str("t"), new byte[10]);

        Assert.Equal(MqttReadStatus.Packet, Read(bytes, V3, Up, bytes.Length).Status);
        Assert.Equal(MqttReadStatus.TooLarge, Read(bytes, V3, Up, bytes.Length - 1).Status);
    }

    [Fact]
    public void Remaining_length_needs_more_data_until_its_last_byte()
    {
        Assert.Equal(MqttReadStatus.NeedMoreData, Read([], V3).Status);
        Assert.Equal(MqttReadStatus.NeedMoreData, Read(Hex("30"), V3).Status);
        Assert.Equal(MqttReadStatus.NeedMoreData, Read(Hex("30 FF FF FF"), V3, Up, int.MaxValue).Status);
        Assert.Equal(MqttReadStatus.NeedMoreData, Read(Hex("30 FF FF FF 7F"), V3, Up, int.MaxValue).Status);
        Assert.Equal("remaining length uses more than 4 bytes", Refusal(Hex("30 FF FF FF FF"), V3));
    }

    [Fact]
    public void Unsupported_protocol_levels_are_recognized_so_the_gate_can_answer_CONNACK_0x01()
    {
        Assert.True(MqttPacketReader.TryGetUnsupportedProtocolLevel(new(Packet(0x10, Str("MQIsdp"), B(3, 2), U16(60), Str("c"))), out var level));
        Assert.Equal(3, level);
        Assert.True(MqttPacketReader.TryGetUnsupportedProtocolLevel(Segmented(Hex("10 0D 00 04 4D 51 54 54 06"), 1, 3, 5), out level));
        Assert.Equal(6, level);

        Assert.False(MqttPacketReader.TryGetUnsupportedProtocolLevel(new(Connect311()), out _));
        Assert.False(MqttPacketReader.TryGetUnsupportedProtocolLevel(new(Hex("10 0D 00 04 4D 51 54")), out _));
        Assert.False(MqttPacketReader.TryGetUnsupportedProtocolLevel(new(Hex("10 0D 00 04 4D 51 54 58 03")), out _));
        Assert.False(MqttPacketReader.TryGetUnsupportedProtocolLevel(new(Hex("30 0D 00 04 4D 51 54 54 03")), out _));
    }

    [Fact]
    public void Arguments_that_cannot_be_right_throw()
    {
        var buffer = new ReadOnlySequence<byte>(Hex("D0 00"));

        Assert.Throws<ArgumentException>(() => MqttPacketReader.TryRead(ref buffer, null, Down, 100, out _, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => MqttPacketReader.TryRead(ref buffer, (MqttVersion)3, Down, 100, out _, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => MqttPacketReader.TryRead(ref buffer, V3, Down, 1, out _, out _));
    }
}
