namespace ExtAuthz.Mqtt.Codec;

/// <summary>What <see cref="MqttPacketReader.TryRead"/> found at the front of the buffer.</summary>
public enum MqttReadStatus
{
    /// <summary>One whole, well-formed packet; the buffer was advanced past it.</summary>
    Packet,

    /// <summary>The packet is not complete yet; the buffer is unchanged. Read more and call again.</summary>
    NeedMoreData,

    /// <summary>The bytes break an MQTT rule; the buffer is unchanged and the connection must be closed (MQTT 5: DISCONNECT 0x81 first).</summary>
    Malformed,

    /// <summary>The fixed header announces a packet larger than the limit; nothing more of it was buffered (MQTT 5: DISCONNECT 0x95, then close).</summary>
    TooLarge,
}
