using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace ExtAuthz.Mqtt.Codec;

/// <summary>
/// Encodes the few packets the gate sends itself: refusals (CONNACK, PUBACK/PUBREC, SUBACK, DISCONNECT), the
/// acknowledgements it must answer for a message it dropped, a SUBSCRIBE rewritten to keep only the allowed
/// filters, and PINGRESP. Every packet is read back with <see cref="MqttPacketReader"/> before it is
/// returned, so arguments that would make an invalid packet (a reason code the packet type does not allow, a
/// packet identifier of 0, a filter with a misplaced wildcard, …) throw <see cref="ArgumentException"/> with
/// the reader's reason instead of reaching the wire.
/// </summary>
/// <remarks>
/// MQTT 3.1.1 has no reason strings, so <c>reasonString</c> is ignored there. Its PUBACK, PUBREC, PUBREL
/// and PUBCOMP cannot carry a failure either, so a non-zero <c>reasonCode</c> throws rather than silently
/// becoming a success. MQTT 5's Request Problem Information and the client's Maximum Packet Size may forbid
/// a reason string; honoring them is the caller's, as it knows the CONNECT.
/// </remarks>
public static class MqttPacketWriter
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>A CONNACK: <paramref name="code"/> is a 3.1.1 return code or an MQTT 5 reason code.</summary>
    public static byte[] ConnAck(MqttVersion version, bool sessionPresent, byte code, string? reasonString = null)
    {
        var body = new Body();
        body.Byte(sessionPresent ? (byte)1 : (byte)0);
        body.Byte(code);
        if (version == MqttVersion.V500)
        {
            body.ReasonStringProperties(reasonString);
        }

        return Checked(body.Finish(0x20), version, MqttDirection.ServerToClient);
    }

    /// <summary>A PUBACK, in its shortest MQTT 5 form (no reason code when it is success without a reason string).</summary>
    public static byte[] PubAck(MqttVersion version, ushort packetId, byte reasonCode = MqttReasonCodes.Success, string? reasonString = null) =>
        Ack(0x40, version, packetId, reasonCode, reasonString);

    /// <summary>A PUBREC (QoS 2, step 2).</summary>
    public static byte[] PubRec(MqttVersion version, ushort packetId, byte reasonCode = MqttReasonCodes.Success, string? reasonString = null) =>
        Ack(0x50, version, packetId, reasonCode, reasonString);

    /// <summary>A PUBREL (QoS 2, step 3).</summary>
    public static byte[] PubRel(MqttVersion version, ushort packetId, byte reasonCode = MqttReasonCodes.Success, string? reasonString = null) =>
        Ack(0x62, version, packetId, reasonCode, reasonString);

    /// <summary>A PUBCOMP (QoS 2, step 4).</summary>
    public static byte[] PubComp(MqttVersion version, ushort packetId, byte reasonCode = MqttReasonCodes.Success, string? reasonString = null) =>
        Ack(0x70, version, packetId, reasonCode, reasonString);

    /// <summary>A SUBACK with one code per filter of the SUBSCRIBE it answers, in order.</summary>
    public static byte[] SubAck(MqttVersion version, ushort packetId, IReadOnlyList<byte> codes, string? reasonString = null)
    {
        ArgumentNullException.ThrowIfNull(codes);
        var body = new Body();
        body.UInt16(packetId);
        if (version == MqttVersion.V500)
        {
            body.ReasonStringProperties(reasonString);
        }

        foreach (var code in codes)
        {
            body.Byte(code);
        }

        return Checked(body.Finish(0x90), version, MqttDirection.ServerToClient);
    }

    /// <summary>
    /// A SUBSCRIBE, to forward a client's with only the filters it may subscribe to.
    /// <paramref name="properties"/> is the original's <see cref="SubscribePacket.Properties"/> (MQTT 5; empty
    /// writes an empty block); in 3.1.1 it must be empty.
    /// </summary>
    public static byte[] Subscribe(MqttVersion version, ushort packetId, IReadOnlyList<TopicSubscription> subscriptions, ReadOnlyMemory<byte> properties)
    {
        ArgumentNullException.ThrowIfNull(subscriptions);
        var body = new Body();
        body.UInt16(packetId);
        if (version == MqttVersion.V500)
        {
            body.Bytes(properties.IsEmpty ? [0] : properties.Span);
        }
        else if (!properties.IsEmpty)
        {
            throw new ArgumentException("an MQTT 3.1.1 SUBSCRIBE has no properties", nameof(properties));
        }

        foreach (var subscription in subscriptions)
        {
            body.String(subscription.Filter, nameof(subscriptions));
            body.Byte(subscription.Options);
        }

        return Checked(body.Finish(0x82), version, MqttDirection.ClientToServer);
    }

    /// <summary>
    /// A DISCONNECT. MQTT 3.1.1's is the two bytes E0 00 whatever the code, and only a client sends it: to
    /// turn a 3.1.1 client away, close its connection instead.
    /// </summary>
    public static byte[] Disconnect(MqttVersion version, byte reasonCode = MqttReasonCodes.NormalDisconnection, string? reasonString = null)
    {
        var body = new Body();
        if (version == MqttVersion.V500 && (reasonCode != MqttReasonCodes.NormalDisconnection || reasonString is not null))
        {
            body.Byte(reasonCode);
            if (reasonString is not null)
            {
                body.ReasonStringProperties(reasonString);
            }
        }

        return Checked(body.Finish(0xE0), version, version == MqttVersion.V500 ? MqttDirection.ServerToClient : MqttDirection.ClientToServer);
    }

    /// <summary>A PINGRESP (the same in both versions).</summary>
    public static byte[] PingResp() => [0xD0, 0x00];

    private static byte[] Ack(byte first, MqttVersion version, ushort packetId, byte reasonCode, string? reasonString)
    {
        var body = new Body();
        body.UInt16(packetId);
        if (version == MqttVersion.V311 && reasonCode != MqttReasonCodes.Success)
        {
            throw new ArgumentOutOfRangeException(nameof(reasonCode), reasonCode,
                "an MQTT 3.1.1 acknowledgement has no reason code and always means success; close the connection to refuse");
        }

        if (version == MqttVersion.V500 && (reasonCode != MqttReasonCodes.Success || reasonString is not null))
        {
            body.Byte(reasonCode);
            if (reasonString is not null)
            {
                body.ReasonStringProperties(reasonString);
            }
        }

        return Checked(body.Finish(first), version, MqttDirection.ServerToClient);
    }

    private static byte[] Checked(byte[] packet, MqttVersion version, MqttDirection direction)
    {
        var buffer = new ReadOnlySequence<byte>(packet);
        return MqttPacketReader.TryRead(ref buffer, version, direction, int.MaxValue, out _, out var error) == MqttReadStatus.Packet
            ? packet
            : throw new ArgumentException($"the arguments make an invalid packet: {error}");
    }

    /// <summary>A packet's variable header and payload, collected before the fixed header that needs their length.</summary>
    private sealed class Body
    {
        private const int MaxRemainingLength = 268_435_455;
        private readonly ArrayBufferWriter<byte> bytes = new(64);

        public void Byte(byte value) => bytes.Write([value]);

        public void UInt16(ushort value)
        {
            BinaryPrimitives.WriteUInt16BigEndian(bytes.GetSpan(2), value);
            bytes.Advance(2);
        }

        public void Bytes(ReadOnlySpan<byte> value) => bytes.Write(value);

        /// <summary>A UTF-8 encoded string: the strict encoder refuses lone surrogates, which MQTT forbids.</summary>
        public void String(string text, string parameter)
        {
            ArgumentNullException.ThrowIfNull(text, parameter);
            var length = StrictUtf8.GetByteCount(text);
            if (length > ushort.MaxValue)
            {
                throw new ArgumentException($"a string of {length} bytes of UTF-8 exceeds MQTT's 65,535", parameter);
            }

            UInt16((ushort)length);
            bytes.Advance(StrictUtf8.GetBytes(text, bytes.GetSpan(length)));
        }

        /// <summary>An MQTT 5 property block holding at most a Reason String.</summary>
        public void ReasonStringProperties(string? reasonString)
        {
            if (reasonString is null)
            {
                Byte(0);
                return;
            }

            var length = StrictUtf8.GetByteCount(reasonString);
            VariableByteInteger(1 + 2 + length);
            Byte(0x1F);
            String(reasonString, nameof(reasonString));
        }

        public byte[] Finish(byte first)
        {
            if (bytes.WrittenCount > MaxRemainingLength)
            {
                throw new ArgumentException($"the packet's {bytes.WrittenCount} bytes exceed MQTT's largest remaining length, {MaxRemainingLength}");
            }

            var header = new Body();
            header.Byte(first);
            header.VariableByteInteger(bytes.WrittenCount);
            return [.. header.bytes.WrittenSpan, .. bytes.WrittenSpan];
        }

        private void VariableByteInteger(int value)
        {
            do
            {
                var digit = (byte)(value & 0x7F);
                value >>= 7;
                Byte(value > 0 ? (byte)(digit | 0x80) : digit);
            }
            while (value > 0);
        }
    }
}
