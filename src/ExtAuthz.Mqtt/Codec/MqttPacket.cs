namespace ExtAuthz.Mqtt.Codec;

/// <summary>
/// One packet read by <see cref="MqttPacketReader"/>: its type, flags and exact bytes (to forward unchanged),
/// plus a typed view of what the gate decides on. Exactly one view is set for CONNECT, CONNACK, PUBLISH,
/// SUBSCRIBE, SUBACK and UNSUBSCRIBE; the other types need no more than <see cref="PacketId"/>,
/// <see cref="ReasonCode"/> and <see cref="ReasonString"/>.
/// </summary>
public sealed class MqttPacket
{
    // One field for all views keeps the object small: a PUBLISH is the common case and carries one view.
    private readonly object? view;

    internal MqttPacket(MqttVersion version, byte[] raw, object? view, ushort packetId, byte? reasonCode, string? reasonString)
    {
        Version = version;
        Raw = raw;
        this.view = view;
        PacketId = packetId;
        ReasonCode = reasonCode;
        ReasonString = reasonString;
    }

    /// <summary>The control packet type.</summary>
    public MqttPacketType Type => (MqttPacketType)(Raw.Span[0] >> 4);

    /// <summary>The low nibble of the first byte (PUBLISH: DUP, QoS, RETAIN; PUBREL, SUBSCRIBE, UNSUBSCRIBE: 0b0010; others 0).</summary>
    public byte Flags => (byte)(Raw.Span[0] & 0x0F);

    /// <summary>The protocol version the packet was read as: the connection's, or for a CONNECT the one it asks for.</summary>
    public MqttVersion Version { get; }

    /// <summary>The whole packet as received, fixed header included, in memory of its own: forward it as is.</summary>
    public ReadOnlyMemory<byte> Raw { get; }

    /// <summary>Set when <see cref="Type"/> is CONNECT.</summary>
    public ConnectPacket? Connect => view as ConnectPacket;

    /// <summary>Set when <see cref="Type"/> is CONNACK.</summary>
    public ConnAckPacket? ConnAck => view as ConnAckPacket;

    /// <summary>Set when <see cref="Type"/> is PUBLISH.</summary>
    public PublishPacket? Publish => view as PublishPacket;

    /// <summary>Set when <see cref="Type"/> is SUBSCRIBE.</summary>
    public SubscribePacket? Subscribe => view as SubscribePacket;

    /// <summary>Set when <see cref="Type"/> is SUBACK.</summary>
    public SubAckPacket? SubAck => view as SubAckPacket;

    /// <summary>Set when <see cref="Type"/> is UNSUBSCRIBE.</summary>
    public UnsubscribePacket? Unsubscribe => view as UnsubscribePacket;

    /// <summary>The packet identifier of PUBLISH (QoS 1 and 2), PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK; 0 otherwise.</summary>
    public ushort PacketId { get; }

    /// <summary>
    /// MQTT 5 only: the reason code of CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, DISCONNECT and AUTH, 0x00
    /// when the packet leaves it out (MQTT's shorthand for success). Null in 3.1.1 and for the other types
    /// (SUBACK's codes are in <see cref="SubAck"/>).
    /// </summary>
    public byte? ReasonCode { get; }

    /// <summary>MQTT 5: the Reason String property of CONNACK, the acknowledgements, DISCONNECT and AUTH, when present.</summary>
    public string? ReasonString { get; }

    /// <summary>For logs: type, version, size and packet identifier.</summary>
    public override string ToString() =>
        $"{MqttNames.Of(Type)} (MQTT {(Version == MqttVersion.V500 ? "5" : "3.1.1")}, {Raw.Length} bytes{(PacketId != 0 ? $", id {PacketId}" : "")})";
}
