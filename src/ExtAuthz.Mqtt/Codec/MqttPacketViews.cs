namespace ExtAuthz.Mqtt.Codec;

/// <summary>
/// A CONNECT, as the gate needs it to decide iot:Connect (and iot:Publish/iot:RetainPublish for the will).
/// <see cref="Password"/> is a slice of the packet's <see cref="MqttPacket.Raw"/>; the record's ToString
/// prints only its length.
/// </summary>
/// <param name="Version">The protocol level the client asked for; the reader of every later packet on the connection needs it.</param>
/// <param name="ClientId">Possibly empty: MQTT lets the server assign one (3.1.1 only with clean session).</param>
/// <param name="CleanSession">Clean Session in 3.1.1, Clean Start in 5.</param>
/// <param name="KeepAliveSeconds">0 turns keep-alive off; a CONNACK's <see cref="ConnAckPacket.ServerKeepAliveSeconds"/> overrides it in MQTT 5.</param>
/// <param name="WillTopic">Null when the will flag is clear.</param>
/// <param name="SessionExpiryInterval">MQTT 5 only; null when absent (which means 0).</param>
public sealed record ConnectPacket(
    MqttVersion Version,
    string ClientId,
    bool CleanSession,
    ushort KeepAliveSeconds,
    string? WillTopic,
    byte WillQos,
    bool WillRetain,
    string? UserName,
    bool HasPassword,
    ReadOnlyMemory<byte> Password,
    uint? SessionExpiryInterval)
{
    /// <summary>Whether the client left a will message (its topic is <see cref="WillTopic"/>).</summary>
    public bool HasWill => WillTopic is not null;

    /// <summary>MQTT 5: how many unacknowledged QoS 1/2 PUBLISHes the client accepts; null when absent (65,535).</summary>
    public ushort? ReceiveMaximum { get; init; }

    /// <summary>MQTT 5: the largest packet the client accepts, fixed header included; null when absent (no limit).</summary>
    public uint? MaximumPacketSize { get; init; }

    /// <summary>MQTT 5: the highest topic alias the server may use towards the client; null when absent (0: none).</summary>
    public ushort? TopicAliasMaximum { get; init; }

    /// <summary>MQTT 5: the enhanced authentication method, which starts an AUTH exchange; null when absent.</summary>
    public string? AuthenticationMethod { get; init; }
}

/// <summary>
/// A CONNACK. <see cref="ReturnCode"/> is the 3.1.1 return code or the MQTT 5 reason code. The MQTT 5
/// properties a gate needs to follow the connection are kept; the others are validated only.
/// </summary>
public sealed record ConnAckPacket(bool SessionPresent, byte ReturnCode)
{
    /// <summary>MQTT 5: the largest packet the server accepts, fixed header included; null when absent (no limit).</summary>
    public uint? MaximumPacketSize { get; init; }

    /// <summary>MQTT 5: the highest topic alias the client may use towards the server; null when absent (0: none).</summary>
    public ushort? TopicAliasMaximum { get; init; }

    /// <summary>MQTT 5: how many unacknowledged QoS 1/2 PUBLISHes the server accepts; null when absent (65,535).</summary>
    public ushort? ReceiveMaximum { get; init; }

    /// <summary>MQTT 5: the keep-alive the client must use instead of the one it asked for; null when absent.</summary>
    public ushort? ServerKeepAliveSeconds { get; init; }

    /// <summary>MQTT 5: the client identifier the server chose for a client that connected with an empty one.</summary>
    public string? AssignedClientIdentifier { get; init; }
}

/// <summary>
/// A PUBLISH. In MQTT 5 <see cref="Topic"/> may be empty when <see cref="TopicAlias"/> is set: the topic
/// is whatever the sender last bound to that alias on this connection, in this direction, which only the
/// connection (the gate) can know.
/// </summary>
/// <param name="PacketId">0 for QoS 0, else never 0.</param>
/// <param name="PayloadLength">Bytes of application payload at the end of <see cref="MqttPacket.Raw"/>.</param>
public sealed record PublishPacket(string Topic, byte Qos, bool Retain, bool Dup, ushort PacketId, ushort? TopicAlias, int PayloadLength);

/// <summary>A SUBSCRIBE: at least one filter, each with its options byte, in the order sent.</summary>
/// <param name="Properties">MQTT 5: the raw property block, length prefix included, a slice of <see cref="MqttPacket.Raw"/>, to copy into a rewritten SUBSCRIBE; empty in 3.1.1.</param>
public sealed record SubscribePacket(ushort PacketId, IReadOnlyList<TopicSubscription> Subscriptions, ReadOnlyMemory<byte> Properties)
{
    /// <summary>MQTT 5: the subscription identifier; null when absent.</summary>
    public uint? SubscriptionIdentifier { get; init; }
}

/// <summary>One filter of a SUBSCRIBE with its options byte (3.1.1: just the requested QoS; 5: QoS, No Local, Retain As Published, Retain Handling).</summary>
public readonly record struct TopicSubscription(string Filter, byte Options)
{
    /// <summary>The maximum QoS requested (bits 0–1).</summary>
    public byte Qos => (byte)(Options & 0b11);

    /// <summary>MQTT 5 No Local (bit 2): the client's own messages are not sent back to it.</summary>
    public bool NoLocal => (Options & 0b100) != 0;

    /// <summary>MQTT 5 Retain As Published (bit 3).</summary>
    public bool RetainAsPublished => (Options & 0b1000) != 0;

    /// <summary>MQTT 5 Retain Handling (bits 4–5): 0 send retained messages, 1 only for a new subscription, 2 never.</summary>
    public byte RetainHandling => (byte)((Options >> 4) & 0b11);
}

/// <summary>A SUBACK: one code per filter of the SUBSCRIBE it answers, in order.</summary>
public sealed record SubAckPacket(ushort PacketId, IReadOnlyList<byte> ReasonCodes);

/// <summary>An UNSUBSCRIBE: at least one filter.</summary>
public sealed record UnsubscribePacket(ushort PacketId, IReadOnlyList<string> Filters);
