using ExtAuthz.Mqtt.Codec;
using static ExtAuthz.Mqtt.Tests.Codec.Wire;

namespace ExtAuthz.Mqtt.Tests.Codec;

/// <summary>Well-formed packets of every type, both versions and both directions: seeds for splitting and mutation.</summary>
internal static class Corpus
{
    public static IReadOnlyList<Sample> Valid { get; } = Build();

    private static List<Sample> Build()
    {
        const MqttVersion v3 = MqttVersion.V311;
        const MqttVersion v5 = MqttVersion.V500;
        var mqtt = Str("MQTT");
        var samples = new List<Sample>
        {
            new("3.1.1 CONNECT", Connect311("sensor-1"), null, Up),
            new("3.1.1 CONNECT with everything", Packet(0x10, mqtt, B(4, 0xEE), U16(30), Str("s"), Str("lwt/s"), Str("bye"), Str("u"), Bin(1, 2)), null, Up),
            new("5 CONNECT", Packet(0x10, mqtt, B(5, 0x02), U16(60), Props(), Str("d")), null, Up),
            new("5 CONNECT with everything", Packet(0x10, mqtt, B(5, 0xF6), U16(60),
                Props(B(0x11), U32(60), B(0x21), U16(10), B(0x27), U32(9999), B(0x22), U16(4), B(0x17, 1), B(0x19, 0), B(0x26), Str("k"), Str("v"),
                    B(0x15), Str("m"), B(0x16), Bin(5)),
                Str("dev"), Props(B(0x18), U32(1), B(0x01, 1), B(0x02), U32(9), B(0x03), Str("t"), B(0x08), Str("r"), B(0x09), Bin(1)),
                Str("will/t"), Bin(1, 2, 3), Str("user"), Bin(9)), null, Up),
            new("3.1.1 CONNACK", Hex("20 02 01 00"), v3, Down),
            new("5 CONNACK", Packet(0x20, B(0, 0x87), Props(B(0x1F), Str("no"), B(0x12), Str("id"), B(0x13), U16(5), B(0x22), U16(2), B(0x24, 1))), v5, Down),
            new("3.1.1 PUBLISH QoS 0", Packet(0x30, Str("a/b"), B(1, 2, 3)), v3, Up),
            new("3.1.1 PUBLISH QoS 1 retained", Packet(0x33, Str("$aws/things/t/shadow/update"), U16(1), B((byte)'{', (byte)'}')), v3, Up),
            new("3.1.1 PUBLISH QoS 2 DUP", Packet(0x3C, Str("é/🌡"), U16(65535)), v3, Down),
            new("5 PUBLISH", Packet(0x32, Str("t"), U16(7), Props(B(0x23), U16(1), B(0x02), U32(5), B(0x08), Str("re/ply"), B(0x26), Str("a"), Str("b")), B(0)), v5, Up),
            new("5 PUBLISH by alias", Packet(0x30, Str(""), Props(B(0x23), U16(1)), B(42)), v5, Up),
            new("5 PUBLISH to a subscriber", Packet(0x35, Str("x/y"), U16(3), Props(B(0x0B, 0x81, 0x01), B(0x0B, 2)), new byte[200]), v5, Down),
            new("3.1.1 PUBACK", Hex("40 02 00 01"), v3, Down),
            new("3.1.1 PUBREC", Hex("50 02 00 02"), v3, Up),
            new("3.1.1 PUBREL", Hex("62 02 00 03"), v3, Down),
            new("3.1.1 PUBCOMP", Hex("70 02 00 04"), v3, Up),
            new("5 PUBACK short", Hex("40 02 00 01"), v5, Up),
            new("5 PUBACK with code", Hex("40 03 00 01 87"), v5, Down),
            new("5 PUBREC with properties", Packet(0x50, U16(2), B(0x10), Props(B(0x1F), Str("none"))), v5, Up),
            new("5 PUBREL with code", Hex("62 03 00 03 92"), v5, Down),
            new("5 PUBCOMP with empty properties", Hex("70 04 00 04 00 00"), v5, Up),
            new("3.1.1 SUBSCRIBE", Packet(0x82, U16(9), Str("a/+/c"), B(1), Str("#"), B(2)), v3, Up),
            new("5 SUBSCRIBE", Packet(0x82, U16(9), Props(B(0x0B, 7)), Str("$share/g/a/#"), B(0x29), Str("b"), B(0x1C)), v5, Up),
            new("3.1.1 SUBACK", Hex("90 04 00 09 01 80"), v3, Down),
            new("5 SUBACK", Packet(0x90, U16(9), Props(B(0x1F), Str("r")), B(0x02, 0x87, 0x8F)), v5, Down),
            new("3.1.1 UNSUBSCRIBE", Packet(0xA2, U16(10), Str("a/+/c")), v3, Up),
            new("5 UNSUBSCRIBE", Packet(0xA2, U16(10), Props(B(0x26), Str("k"), Str("v")), Str("a"), Str("b/#")), v5, Up),
            new("3.1.1 UNSUBACK", Hex("B0 02 00 0A"), v3, Down),
            new("5 UNSUBACK", Packet(0xB0, U16(10), Props(), B(0x00, 0x11)), v5, Down),
            new("3.1.1 PINGREQ", Hex("C0 00"), v3, Up),
            new("5 PINGRESP", Hex("D0 00"), v5, Down),
            new("3.1.1 DISCONNECT", Hex("E0 00"), v3, Up),
            new("5 DISCONNECT with code", Hex("E0 01 04"), v5, Up),
            new("5 DISCONNECT with properties", Packet(0xE0, B(0x8E), Props(B(0x1F), Str("bye"), B(0x1C), Str("srv"))), v5, Down),
            new("5 AUTH", Hex("F0 00"), v5, Down),
            new("5 AUTH with properties", Packet(0xF0, B(0x19), Props(B(0x15), Str("m"), B(0x16), Bin(1, 2))), v5, Up),
        };

        samples.AddRange(
        [
            new("written 3.1.1 CONNACK", MqttPacketWriter.ConnAck(v3, false, MqttReasonCodes.V311NotAuthorized), v3, Down),
            new("written 5 CONNACK", MqttPacketWriter.ConnAck(v5, false, MqttReasonCodes.NotAuthorized, "not authorized"), v5, Down),
            new("written 5 PUBACK", MqttPacketWriter.PubAck(v5, 5, MqttReasonCodes.NotAuthorized, "denied"), v5, Down),
            new("written 5 SUBACK", MqttPacketWriter.SubAck(v5, 6, [0, 0x87], "partly"), v5, Down),
            new("written 3.1.1 SUBSCRIBE", MqttPacketWriter.Subscribe(v3, 7, [new("a/#", 1)], default), v3, Up),
            new("written 5 DISCONNECT", MqttPacketWriter.Disconnect(v5, MqttReasonCodes.MalformedPacket, "bad"), v5, Down),
        ]);
        return samples;
    }

    public sealed record Sample(string Name, byte[] Bytes, MqttVersion? Version, MqttDirection Direction)
    {
        public override string ToString() => Name;
    }
}
