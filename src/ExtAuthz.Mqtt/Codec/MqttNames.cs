namespace ExtAuthz.Mqtt.Codec;

/// <summary>The packet names the MQTT specifications use, for error messages and logs.</summary>
internal static class MqttNames
{
    private static readonly string[] Names =
    [
        "reserved type 0", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK",
        "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH",
    ];

    public static string Of(MqttPacketType type) => Names[(int)type & 0x0F];

    public static string Of(MqttVersion version) => version == MqttVersion.V500 ? "MQTT 5" : "MQTT 3.1.1";
}
