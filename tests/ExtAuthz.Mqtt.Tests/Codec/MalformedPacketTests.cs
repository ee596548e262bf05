using ExtAuthz.Mqtt.Codec;
using static ExtAuthz.Tests.Shared.Sequences;
using static ExtAuthz.Mqtt.Tests.Codec.Wire;

namespace ExtAuthz.Mqtt.Tests.Codec;

/// <summary>Every rule the reader enforces, broken once, with the exact reason it gives (packet, field, byte offset).</summary>
public sealed class MalformedPacketTests
{
    private const MqttVersion V3 = MqttVersion.V311;
    private const MqttVersion V5 = MqttVersion.V500;

    private static readonly byte[] Mqtt = Str("MQTT");

    private static readonly Dictionary<string, (byte[] Bytes, MqttVersion? Version, MqttDirection Direction, string Error)> Cases = new()
    {
        // Fixed header: type, direction, flags, remaining length.
        ["reserved type 0"] = (Hex("00 00"), V3, Up, "packet type 0 (first byte 0x00) is reserved"),
        ["AUTH in 3.1.1"] = (Hex("F0 00"), V3, Up, "packet type 15 (AUTH) exists only in MQTT 5"),
        ["PINGREQ before CONNECT"] = (Hex("C0 00"), null, Up, "the first packet must be CONNECT, not PINGREQ"),
        ["AUTH before CONNECT"] = (Hex("F0 00"), null, Up, "the first packet must be CONNECT, not AUTH"),
        ["CONNACK from a client"] = (Hex("20 02 00 00"), V3, Up, "CONNACK is sent only by servers, but came from the client"),
        ["SUBACK from a client"] = (Hex("90 03 00 01 00"), V5, Up, "SUBACK is sent only by servers, but came from the client"),
        ["UNSUBACK from a client"] = (Hex("B0 02 00 01"), V3, Up, "UNSUBACK is sent only by servers, but came from the client"),
        ["PINGRESP from a client"] = (Hex("D0 00"), V3, Up, "PINGRESP is sent only by servers, but came from the client"),
        ["SUBSCRIBE from a server"] = (Packet(0x82, U16(1), Str("a"), B(0)), V5, Down, "SUBSCRIBE is sent only by clients, but came from the server"),
        ["UNSUBSCRIBE from a server"] = (Packet(0xA2, U16(1), Str("a")), V3, Down, "UNSUBSCRIBE is sent only by clients, but came from the server"),
        ["PINGREQ from a server"] = (Hex("C0 00"), V3, Down, "PINGREQ is sent only by clients, but came from the server"),
        ["3.1.1 DISCONNECT from a server"] = (Hex("E0 00"), V3, Down, "DISCONNECT is sent only by clients in MQTT 3.1.1, but came from the server"),
        ["CONNECT from a server"] = (Connect311(), V3, Down, "CONNECT is sent only by clients, but came from the server"),
        ["second CONNECT"] = (Connect311(), V5, Up, "CONNECT came a second time; a client sends it once per connection"),
        ["PUBLISH QoS 3"] = (Packet(0x36, Str("a"), U16(1)), V3, Up, "PUBLISH asks for QoS 3 (fixed-header flags 0b0110)"),
        ["PUBLISH DUP with QoS 0"] = (Packet(0x38, Str("a")), V3, Down, "PUBLISH sets DUP with QoS 0, which MQTT forbids"),
        ["PUBREL flags 0"] = (Hex("60 02 00 01"), V3, Up, "PUBREL fixed-header flags are 0b0000; MQTT requires 0b0010"),
        ["SUBSCRIBE flags 0"] = (Packet(0x80, U16(1), Str("a"), B(0)), V3, Up, "SUBSCRIBE fixed-header flags are 0b0000; MQTT requires 0b0010"),
        ["UNSUBSCRIBE flags 3"] = (Packet(0xA3, U16(1), Str("a")), V3, Up, "UNSUBSCRIBE fixed-header flags are 0b0011; MQTT requires 0b0010"),
        ["PUBACK flags 2"] = (Hex("42 02 00 01"), V3, Up, "PUBACK fixed-header flags are 0b0010; MQTT requires 0b0000"),
        ["CONNECT flags 1"] = (Hex("11 0D 00 04 4D 51 54 54 04 02 00 3C 00 01 63"), null, Up, "CONNECT fixed-header flags are 0b0001; MQTT requires 0b0000"),
        ["AUTH flags 8"] = (Hex("F8 00"), V5, Up, "AUTH fixed-header flags are 0b1000; MQTT requires 0b0000"),
        ["remaining length in 5 bytes"] = (Hex("30 80 80 80 80 01"), V3, Up, "remaining length uses more than 4 bytes"),
        ["5 remaining length not minimal"] = (Hex("D0 80 80 00"), V5, Down, "PINGRESP remaining length is not in the fewest bytes possible, which MQTT 5 requires"),

        // CONNECT.
        ["MQTT 3.1"] = (Packet(0x10, Str("MQIsdp"), B(3, 2), U16(60), Str("c")), null, Up,
            "CONNECT is MQTT 3.1 (protocol name 'MQIsdp'); the gate accepts MQTT 3.1.1 (protocol level 4) and 5 (level 5)"),
        ["unknown protocol name"] = (Packet(0x10, Str("MQTX"), B(4, 2), U16(60), Str("c")), null, Up,
            "CONNECT protocol name at byte 4 is 'MQTX'; MQTT 3.1.1 and 5 use 'MQTT'"),
        ["binary protocol name"] = (Packet(0x10, Bin(0xFF, 0), B(4, 2), U16(60), Str("c")), null, Up,
            "CONNECT protocol name at byte 4 is 2 bytes long; MQTT 3.1.1 and 5 use 'MQTT'"),
        ["level 3 named MQTT"] = (Packet(0x10, Mqtt, B(3, 2), U16(60), Str("c")), null, Up,
            "CONNECT protocol level at byte 8 is 3 (MQTT 3.1); the gate accepts MQTT 3.1.1 (level 4) and 5 (level 5)"),
        ["level 6"] = (Packet(0x10, Mqtt, B(6, 2), U16(60), Str("c")), null, Up,
            "CONNECT protocol level at byte 8 is 6; the gate accepts MQTT 3.1.1 (level 4) and 5 (level 5)"),
        ["reserved connect flag"] = (Packet(0x10, Mqtt, B(4, 0x03), U16(60), Str("c")), null, Up, "CONNECT flags 0x03 (byte 9) set the reserved bit 0"),
        ["will QoS without will"] = (Packet(0x10, Mqtt, B(4, 0x0A), U16(60), Str("c")), null, Up,
            "CONNECT flags 0x0A (byte 9) set a will QoS or will retain without the will flag"),
        ["will retain without will"] = (Packet(0x10, Mqtt, B(5, 0x22), U16(60), Props(), Str("c")), null, Up,
            "CONNECT flags 0x22 (byte 9) set a will QoS or will retain without the will flag"),
        ["will QoS 3"] = (Packet(0x10, Mqtt, B(4, 0x1E), U16(60), Str("c"), Str("w"), Bin()), null, Up, "CONNECT flags 0x1E (byte 9) ask for will QoS 3"),
        ["3.1.1 password without user name"] = (Packet(0x10, Mqtt, B(4, 0x42), U16(60), Str("c"), Bin(1)), null, Up,
            "CONNECT flags 0x42 (byte 9) set the password flag without the user name flag, which MQTT 3.1.1 forbids"),
        ["client id not UTF-8"] = (Packet(0x10, Mqtt, B(4, 2), U16(60), Bin(0xC3, 0x28)), null, Up, "CONNECT client identifier is not valid UTF-8 at byte 14"),
        ["client id with U+0000"] = (Packet(0x10, Mqtt, B(4, 2), U16(60), Bin(0x61, 0x00)), null, Up,
            "CONNECT client identifier contains U+0000 at byte 15, which MQTT forbids"),
        ["client id with a surrogate"] = (Packet(0x10, Mqtt, B(4, 2), U16(60), Bin(0x61, 0xED, 0xA0, 0x80)), null, Up,
            "CONNECT client identifier is not valid UTF-8 at byte 15 (an encoded UTF-16 surrogate, which MQTT forbids)"),
        ["client id with an overlong U+0000"] = (Packet(0x10, Mqtt, B(4, 2), U16(60), Bin(0xC0, 0x80)), null, Up,
            "CONNECT client identifier is not valid UTF-8 at byte 14"),
        ["will topic with a wildcard"] = (Packet(0x10, Mqtt, B(4, 0x06), U16(60), Str("c"), Str("a/#"), Bin()), null, Up,
            "CONNECT will topic contains the wildcard '#' at byte 19; wildcards belong only in topic filters"),
        ["empty will topic"] = (Packet(0x10, Mqtt, B(4, 0x06), U16(60), Str("c"), Str(""), Bin()), null, Up,
            "CONNECT will topic at byte 15 is empty; a topic name has at least one character"),
        ["CONNECT with a trailing byte"] = (Packet(0x10, Mqtt, B(4, 2), U16(60), Str("c"), B(0)), null, Up,
            "CONNECT has 1 byte more after its payload (byte 15), where it should end"),
        ["CONNECT without its user name"] = (Packet(0x10, Mqtt, B(4, 0x82), U16(60), Str("c")), null, Up,
            "CONNECT is cut short: its user name length at byte 15 needs 2 bytes and 0 remain"),
        ["CONNECT with a short password"] = (Packet(0x10, Mqtt, B(4, 0xC2), U16(60), Str("c"), Str("u"), B(0, 5, 1)), null, Up,
            "CONNECT is cut short: its password at byte 20 needs 5 bytes and 1 remains"),
        ["unknown property"] = (Packet(0x10, Mqtt, B(5, 2), U16(60), Props(B(0x05, 0)), Str("c")), null, Up,
            "CONNECT properties have an unknown property identifier 0x05 at byte 13"),
        ["multi-byte property identifier"] = (Packet(0x10, Mqtt, B(5, 2), U16(60), Props(B(0x80, 0x01)), Str("c")), null, Up,
            "CONNECT properties have an unknown property identifier 0x80 at byte 13"),
        ["PUBLISH property in CONNECT"] = (Packet(0x10, Mqtt, B(5, 2), U16(60), Props(B(0x23), U16(1)), Str("c")), null, Up,
            "CONNECT properties have topic alias (0x23) at byte 13, which MQTT 5 does not allow there"),
        ["repeated property"] = (Packet(0x10, Mqtt, B(5, 2), U16(60), Props(B(0x11), U32(1), B(0x11), U32(2)), Str("c")), null, Up,
            "CONNECT properties repeat session expiry interval (0x11) at byte 18"),
        ["receive maximum 0"] = (Packet(0x10, Mqtt, B(5, 2), U16(60), Props(B(0x21), U16(0)), Str("c")), null, Up,
            "CONNECT receive maximum (0x21) at byte 14 is 0, which MQTT 5 forbids"),
        ["maximum packet size 0"] = (Packet(0x10, Mqtt, B(5, 2), U16(60), Props(B(0x27), U32(0)), Str("c")), null, Up,
            "CONNECT maximum packet size (0x27) at byte 14 is 0, which MQTT 5 forbids"),
        ["request problem information 2"] = (Packet(0x10, Mqtt, B(5, 2), U16(60), Props(B(0x17, 2)), Str("c")), null, Up,
            "CONNECT request problem information (0x17) at byte 14 is 2; MQTT 5 allows only 0 or 1"),
        ["authentication data without method"] = (Packet(0x10, Mqtt, B(5, 2), U16(60), Props(B(0x16), Bin(1)), Str("c")), null, Up,
            "CONNECT properties have authentication data without an authentication method"),
        ["property length past the packet"] = (Packet(0x10, Mqtt, B(5, 2), U16(60), B(50), Str("c")), null, Up,
            "CONNECT property length 50 (byte 12) runs past the end of the packet (byte 16)"),
        ["property past its block"] = (Packet(0x10, Mqtt, B(5, 2), U16(60), B(3, 0x11, 0, 1), Str("c")), null, Up,
            "CONNECT session expiry interval (0x11) at byte 14 runs past the end of the properties (byte 16)"),
        ["property length not minimal"] = (Packet(0x10, Mqtt, B(5, 2), U16(60), B(0x80, 0x00), Str("c")), null, Up,
            "CONNECT property length at byte 12 is not in the fewest bytes possible, which MQTT 5 requires"),
        ["session expiry in will properties"] = (Packet(0x10, Mqtt, B(5, 0x06), U16(60), Props(), Str("c"), Props(B(0x11), U32(1)), Str("w"), Bin()), null, Up,
            "CONNECT will properties have session expiry interval (0x11) at byte 17, which MQTT 5 does not allow there"),
        ["user property value not UTF-8"] = (Packet(0x10, Mqtt, B(5, 2), U16(60), Props(B(0x26), Str("k"), Bin(0xFF)), Str("c")), null, Up,
            "CONNECT user property (0x26) value is not valid UTF-8 at byte 19"),

        // CONNACK.
        ["CONNACK reserved flags"] = (Hex("20 02 02 00"), V3, Down,
            "CONNACK acknowledge flags 0x02 (byte 2) set reserved bits; only bit 0, session present, may be set"),
        ["CONNACK return code 6"] = (Hex("20 02 00 06"), V3, Down, "CONNACK return code 0x06 at byte 3 is not one MQTT 3.1.1 defines for CONNACK"),
        ["CONNACK session present with a refusal"] = (Hex("20 02 01 05"), V3, Down,
            "CONNACK sets session present with the refusing return code 0x05, which MQTT forbids"),
        ["3.1.1 CONNACK of 3 bytes"] = (Hex("20 03 00 00 00"), V3, Down, "CONNACK has 1 byte more after its return code (byte 4), where it should end"),
        ["CONNACK of 1 byte"] = (Hex("20 01 00"), V3, Down, "CONNACK is cut short: its return code at byte 3 needs 1 byte and 0 remain"),
        ["CONNACK reason code 0x10"] = (Packet(0x20, B(0, 0x10), Props()), V5, Down, "CONNACK reason code 0x10 at byte 3 is not one MQTT 5 defines for CONNACK"),
        ["CONNACK maximum QoS 2"] = (Packet(0x20, B(0, 0), Props(B(0x24, 2))), V5, Down, "CONNACK maximum QoS (0x24) at byte 6 is 2; MQTT 5 allows only 0 or 1"),
        ["5 CONNACK without properties"] = (Hex("20 02 00 00"), V5, Down, "CONNACK is cut short: its property length at byte 4 needs 1 byte and 0 remain"),

        // PUBLISH.
        ["topic with a wildcard"] = (Packet(0x30, Str("a/+")), V3, Up, "PUBLISH topic contains the wildcard '+' at byte 6; wildcards belong only in topic filters"),
        ["3.1.1 empty topic"] = (Packet(0x30, Str("")), V3, Up, "PUBLISH topic at byte 2 is empty; a topic name has at least one character"),
        ["5 empty topic without alias"] = (Packet(0x30, Str(""), Props()), V5, Up, "PUBLISH topic at byte 2 is empty and there is no topic alias to stand for it"),
        ["topic not UTF-8"] = (Packet(0x30, Bin(0x61, 0x62, 0x63, 0xFF)), V3, Up, "PUBLISH topic is not valid UTF-8 at byte 7"),
        ["truncated UTF-8 sequence in topic"] = (Packet(0x30, Bin(0x61, 0xE2, 0x82)), V3, Down, "PUBLISH topic is not valid UTF-8 at byte 5"),
        ["packet identifier 0"] = (Packet(0x32, Str("a"), U16(0)), V3, Up, "PUBLISH packet identifier is 0 (byte 5); MQTT requires a non-zero one"),
        ["missing packet identifier"] = (Packet(0x34, Str("a")), V3, Up, "PUBLISH is cut short: its packet identifier at byte 5 needs 2 bytes and 0 remain"),
        ["topic alias 0"] = (Packet(0x30, Str("a"), Props(B(0x23), U16(0))), V5, Up, "PUBLISH topic alias (0x23) at byte 7 is 0, which MQTT 5 forbids"),
        ["subscription identifier from a client"] = (Packet(0x30, Str("a"), Props(B(0x0B, 1))), V5, Up,
            "PUBLISH subscription identifier (0x0B) at byte 7 is sent only by servers; a client's PUBLISH must not carry it"),
        ["subscription identifier 0"] = (Packet(0x30, Str("a"), Props(B(0x0B, 0))), V5, Down, "PUBLISH subscription identifier (0x0B) at byte 7 is 0, which MQTT 5 forbids"),
        ["subscription identifier in 5 bytes"] = (Packet(0x30, Str("a"), Props(B(0x0B, 0xFF, 0xFF, 0xFF, 0xFF, 0x01))), V5, Down,
            "PUBLISH subscription identifier (0x0B) at byte 7 uses more than 4 bytes"),
        ["response topic with a wildcard"] = (Packet(0x30, Str("a"), Props(B(0x08), Str("r/#"))), V5, Up,
            "PUBLISH response topic (0x08) contains the wildcard '#' at byte 11; wildcards belong only in topic filters"),
        ["empty response topic"] = (Packet(0x30, Str("a"), Props(B(0x08), Str(""))), V5, Up,
            "PUBLISH response topic (0x08) at byte 7 is empty; a topic name has at least one character"),
        ["reason string in PUBLISH"] = (Packet(0x30, Str("a"), Props(B(0x1F), Str("x"))), V5, Up,
            "PUBLISH properties have reason string (0x1F) at byte 6, which MQTT 5 does not allow there"),
        ["PUBLISH property length not minimal"] = (Packet(0x30, Str("a"), B(0x80, 0x00)), V5, Up,
            "PUBLISH property length at byte 5 is not in the fewest bytes possible, which MQTT 5 requires"),
        ["PUBLISH property length in 5 bytes"] = (Packet(0x30, Str("a"), B(0x80, 0x80, 0x80, 0x80, 0x01)), V5, Up,
            "PUBLISH property length at byte 5 uses more than 4 bytes"),
        ["repeated topic alias"] = (Packet(0x30, Str("a"), Props(B(0x23), U16(1), B(0x23), U16(2))), V5, Up,
            "PUBLISH properties repeat topic alias (0x23) at byte 9"),

        // PUBACK, PUBREC, PUBREL, PUBCOMP.
        ["3.1.1 PUBACK of 3 bytes"] = (Hex("40 03 00 01 00"), V3, Up, "PUBACK has 1 byte more after its packet identifier (byte 4), where it should end"),
        ["PUBACK identifier 0"] = (Hex("40 02 00 00"), V3, Down, "PUBACK packet identifier is 0 (byte 2); MQTT requires a non-zero one"),
        ["PUBACK of 1 byte"] = (Hex("40 01 00"), V5, Up, "PUBACK is cut short: its packet identifier at byte 2 needs 2 bytes and 1 remains"),
        ["PUBACK reason code 0x92"] = (Hex("40 03 00 01 92"), V5, Up, "PUBACK reason code 0x92 at byte 4 is not one MQTT 5 defines for PUBACK"),
        ["PUBREL reason code 0x10"] = (Hex("62 03 00 01 10"), V5, Down, "PUBREL reason code 0x10 at byte 4 is not one MQTT 5 defines for PUBREL"),
        ["PUBCOMP byte after properties"] = (Hex("70 05 00 01 00 00 00"), V5, Up, "PUBCOMP has 1 byte more after its properties (byte 6), where it should end"),
        ["subscription identifier in PUBREC"] = (Packet(0x50, U16(1), B(0), Props(B(0x0B, 1))), V5, Up,
            "PUBREC properties have subscription identifier (0x0B) at byte 6, which MQTT 5 does not allow there"),

        // SUBSCRIBE.
        ["SUBSCRIBE without filters"] = (Hex("82 02 00 01"), V3, Up, "SUBSCRIBE has no topic filter; MQTT requires at least one"),
        ["5 SUBSCRIBE without filters"] = (Packet(0x82, U16(1), Props(B(0x0B, 1))), V5, Up, "SUBSCRIBE has no topic filter; MQTT requires at least one"),
        ["3.1.1 reserved option bits"] = (Packet(0x82, U16(1), Str("a"), B(0x04)), V3, Up,
            "SUBSCRIBE subscription options 0x04 at byte 7 set reserved bits; MQTT 3.1.1 allows only the QoS bits"),
        ["3.1.1 requested QoS 3"] = (Packet(0x82, U16(1), Str("a"), B(0x03)), V3, Up, "SUBSCRIBE subscription options 0x03 at byte 7 request QoS 3"),
        ["5 reserved option bits"] = (Packet(0x82, U16(1), Props(), Str("a"), B(0x40)), V5, Up,
            "SUBSCRIBE subscription options 0x40 at byte 8 set the reserved bits 6 and 7"),
        ["5 requested QoS 3"] = (Packet(0x82, U16(1), Props(), Str("a"), B(0x07)), V5, Up, "SUBSCRIBE subscription options 0x07 at byte 8 request QoS 3"),
        ["retain handling 3"] = (Packet(0x82, U16(1), Props(), Str("a"), B(0x30)), V5, Up,
            "SUBSCRIBE subscription options 0x30 at byte 8 ask for retain handling 3, which MQTT 5 does not define"),
        ["No Local on a shared subscription"] = (Packet(0x82, U16(1), Props(), Str("$share/g/a"), B(0x04)), V5, Up,
            "SUBSCRIBE subscription options 0x04 at byte 17 set No Local on a shared subscription, which MQTT 5 forbids"),
        ["'#' not last"] = (Packet(0x82, U16(1), Str("a/#/b"), B(0)), V3, Up, "SUBSCRIBE topic filter has '#' at byte 8 that is not the whole last level"),
        ["'#' sharing a level"] = (Packet(0x82, U16(1), Str("a#"), B(0)), V3, Up, "SUBSCRIBE topic filter has '#' at byte 7 that is not the whole last level"),
        ["'+' sharing a level"] = (Packet(0x82, U16(1), Str("a/+b"), B(0)), V3, Up, "SUBSCRIBE topic filter has '+' at byte 8 sharing a level; '+' must be a whole level"),
        ["empty filter"] = (Packet(0x82, U16(1), Str(""), B(0)), V3, Up, "SUBSCRIBE topic filter at byte 4 is empty; a topic filter has at least one character"),
        ["filter with U+0000"] = (Packet(0x82, U16(1), Bin(0x61, 0), B(0)), V3, Up, "SUBSCRIBE topic filter contains U+0000 at byte 7, which MQTT forbids"),
        ["missing options"] = (Packet(0x82, U16(1), Str("a"), B(0), Str("b")), V3, Up,
            "SUBSCRIBE is cut short: its subscription options at byte 11 needs 1 byte and 0 remain"),
        ["repeated subscription identifier"] = (Packet(0x82, U16(1), Props(B(0x0B, 1), B(0x0B, 2)), Str("a"), B(0)), V5, Up,
            "SUBSCRIBE properties repeat subscription identifier (0x0B) at byte 7"),
        ["SUBSCRIBE subscription identifier 0"] = (Packet(0x82, U16(1), Props(B(0x0B, 0)), Str("a"), B(0)), V5, Up,
            "SUBSCRIBE subscription identifier (0x0B) at byte 6 is 0, which MQTT 5 forbids"),

        // SUBACK, UNSUBSCRIBE, UNSUBACK.
        ["3.1.1 SUBACK code 0x87"] = (Hex("90 03 00 01 87"), V3, Down, "SUBACK reason code 0x87 at byte 4 is not one MQTT 3.1.1 defines for SUBACK"),
        ["SUBACK without codes"] = (Hex("90 02 00 01"), V3, Down, "SUBACK has no reason code; it needs one for each topic filter of the request it answers"),
        ["5 SUBACK code 3"] = (Packet(0x90, U16(1), Props(), B(0x03)), V5, Down, "SUBACK reason code 0x03 at byte 5 is not one MQTT 5 defines for SUBACK"),
        ["UNSUBSCRIBE without filters"] = (Hex("A2 02 00 01"), V3, Up, "UNSUBSCRIBE has no topic filter; MQTT requires at least one"),
        ["UNSUBSCRIBE bad filter"] = (Packet(0xA2, U16(1), Str("a/b#")), V3, Up, "UNSUBSCRIBE topic filter has '#' at byte 9 that is not the whole last level"),
        ["3.1.1 UNSUBACK of 3 bytes"] = (Hex("B0 03 00 01 00"), V3, Down, "UNSUBACK has 1 byte more after its packet identifier (byte 4), where it should end"),
        ["5 UNSUBACK without codes"] = (Packet(0xB0, U16(1), Props()), V5, Down,
            "UNSUBACK has no reason code; it needs one for each topic filter of the request it answers"),
        ["5 UNSUBACK code 0x10"] = (Packet(0xB0, U16(1), Props(), B(0x10)), V5, Down, "UNSUBACK reason code 0x10 at byte 5 is not one MQTT 5 defines for UNSUBACK"),

        // PINGREQ, DISCONNECT, AUTH.
        ["PINGREQ with a body"] = (Hex("C0 01 00"), V3, Up, "PINGREQ has 1 byte more after its fixed header (byte 2), where it should end"),
        ["3.1.1 DISCONNECT with a body"] = (Hex("E0 01 00"), V3, Up, "DISCONNECT has 1 byte more after its fixed header (byte 2), where it should end"),
        ["DISCONNECT code 5"] = (Hex("E0 01 05"), V5, Up, "DISCONNECT reason code 0x05 at byte 2 is not one MQTT 5 defines for DISCONNECT"),
        ["session expiry in a server DISCONNECT"] = (Packet(0xE0, B(0), Props(B(0x11), U32(5))), V5, Down,
            "DISCONNECT session expiry interval (0x11) at byte 5 is sent only by clients; a server's DISCONNECT must not carry it"),
        ["AUTH with only a code"] = (Hex("F0 01 18"), V5, Up, "AUTH has a reason code but no properties; MQTT 5 requires both or neither"),
        ["AUTH without method"] = (Hex("F0 02 18 00"), V5, Down, "AUTH properties have no authentication method, which MQTT 5 requires in AUTH"),
        ["AUTH code 0x87"] = (Hex("F0 02 87 00"), V5, Down, "AUTH reason code 0x87 at byte 2 is not one MQTT 5 defines for AUTH"),
    };

    public static TheoryData<string> Names => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(Names))]
    public void Is_refused_with_its_reason(string name)
    {
        var (bytes, version, direction, error) = Cases[name];

        Assert.Equal(error, Refusal(bytes, version, direction));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Is_refused_the_same_way_when_it_arrives_byte_by_byte(string name)
    {
        var (bytes, version, direction, error) = Cases[name];
        var result = Read(Segmented(bytes, Enumerable.Range(1, bytes.Length).ToArray()), version, direction);

        Assert.Equal((MqttReadStatus.Malformed, error), (result.Status, result.Error));
    }
}
