using System.Buffers;

namespace ExtAuthz.Mqtt.Codec;

/// <summary>
/// Reads MQTT 3.1.1 and 5 packets, one at a time, from the front of a pipe's buffer, in either direction.
/// The fixed header is scanned in place (it may straddle segments); once the whole packet is buffered it is
/// copied once into <see cref="MqttPacket.Raw"/>, which the gate must keep to forward anyway, and the rest
/// is parsed from that copy. Nothing is ever re-encoded. Every rule the MQTT specifications make a
/// malformed packet or protocol error when broken within one packet is checked here; rules that need the
/// connection's history (topic alias ranges, packet identifiers in flight, keep-alive timing) and AWS IoT's
/// own limits are the gate's.
/// </summary>
public static class MqttPacketReader
{
    /// <summary>AWS IoT Core's MQTT message size limit, 128 KiB; the gate's default maximum packet size.</summary>
    public const int DefaultMaxPacketSize = 128 * 1024;

    /// <summary>
    /// Reads one packet from the front of <paramref name="buffer"/>; on <see cref="MqttReadStatus.Packet"/>
    /// advances <paramref name="buffer"/> past it, otherwise leaves it as it was.
    /// </summary>
    /// <param name="version">The connection's version: null before CONNECT, when only a client's CONNECT is acceptable (it sets the version).</param>
    /// <param name="direction">Who sent the bytes; a server never sends before the client's CONNECT, so it needs a <paramref name="version"/>.</param>
    /// <param name="maxPacketSize">The largest whole packet accepted, fixed header included (MQTT 5's Maximum Packet Size counts the same way); a larger one is refused as soon as its fixed header is in.</param>
    /// <param name="packet">The packet, on <see cref="MqttReadStatus.Packet"/>.</param>
    /// <param name="error">Why, on <see cref="MqttReadStatus.Malformed"/> and <see cref="MqttReadStatus.TooLarge"/>: the packet, the field and the byte offset from the packet's first byte.</param>
    public static MqttReadStatus TryRead(ref ReadOnlySequence<byte> buffer, MqttVersion? version, MqttDirection direction, int maxPacketSize,
        out MqttPacket? packet, out string? error)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPacketSize, 2);
        if (version is { } known && known is not (MqttVersion.V311 or MqttVersion.V500))
        {
            throw new ArgumentOutOfRangeException(nameof(version), version, "not an MQTT version the codec reads");
        }

        if (version is null && direction == MqttDirection.ServerToClient)
        {
            throw new ArgumentException("a server speaks only after the client's CONNECT, which sets the version", nameof(version));
        }

        packet = null;
        error = null;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryRead(out var first))
        {
            return MqttReadStatus.NeedMoreData;
        }

        error = FixedHeaderError(first, version, direction);
        if (error is not null)
        {
            return MqttReadStatus.Malformed;
        }

        var remaining = 0;
        var lengthBytes = 0;
        byte digit;
        do
        {
            if (lengthBytes == 4)
            {
                error = "remaining length uses more than 4 bytes";
                return MqttReadStatus.Malformed;
            }

            if (!reader.TryRead(out digit))
            {
                return MqttReadStatus.NeedMoreData;
            }

            remaining |= (digit & 0x7F) << (7 * lengthBytes++);
        }
        while ((digit & 0x80) != 0);

        // MQTT 5 requires the fewest bytes (a last byte of 0 after the first means fewer would do); 3.1.1 does
        // not, so a CONNECT's check waits until its protocol level is known.
        var minimal = lengthBytes == 1 || digit != 0;
        if (!minimal && version == MqttVersion.V500)
        {
            error = $"{MqttNames.Of((MqttPacketType)(first >> 4))} remaining length is not in the fewest bytes possible, which MQTT 5 requires";
            return MqttReadStatus.Malformed;
        }

        var total = 1 + lengthBytes + remaining;
        if (total > maxPacketSize)
        {
            error = $"{MqttNames.Of((MqttPacketType)(first >> 4))} is {total} bytes (remaining length {remaining}); the limit is {maxPacketSize}";
            return MqttReadStatus.TooLarge;
        }

        if (buffer.Length < total)
        {
            return MqttReadStatus.NeedMoreData;
        }

        var raw = buffer.Slice(0, total).ToArray();
        packet = MqttPacketParser.Parse(raw, 1 + lengthBytes, version, direction, minimal, out error);
        if (packet is null)
        {
            return MqttReadStatus.Malformed;
        }

        buffer = buffer.Slice(total);
        return MqttReadStatus.Packet;
    }

    /// <summary>
    /// Whether <paramref name="buffer"/> begins with a CONNECT that names MQTT ("MQTT", or MQTT 3.1's
    /// "MQIsdp") at a protocol level the codec does not read, which <see cref="TryRead"/> reports as
    /// malformed; the first bytes of the CONNECT, up to its protocol level, are enough. MQTT 3.1.1 wants such a client told so, with CONNACK return code 0x01 in the 3.1.1 format
    /// (which 3.1 clients read too), before the connection closes; this lets the gate do that.
    /// </summary>
    public static bool TryGetUnsupportedProtocolLevel(ReadOnlySequence<byte> buffer, out byte level)
    {
        level = 0;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryRead(out var first) || first != 0x10)
        {
            return false;
        }

        // Enough of the variable header to see the name and level: the remaining length (at most 4 bytes),
        // then a 2-byte length and the name.
        var lengthBytes = 0;
        byte digit;
        do
        {
            if (lengthBytes == 4 || !reader.TryRead(out digit))
            {
                return false;
            }

            lengthBytes++;
        }
        while ((digit & 0x80) != 0);

        if (!reader.TryReadBigEndian(out short nameLength) || nameLength is not (4 or 6))
        {
            return false;
        }

        Span<byte> name = stackalloc byte[nameLength];
        if (!reader.TryCopyTo(name))
        {
            return false;
        }

        reader.Advance(nameLength);
        return (name.SequenceEqual("MQTT"u8) || name.SequenceEqual("MQIsdp"u8))
            && reader.TryRead(out level)
            && level is not ((byte)MqttVersion.V311 or (byte)MqttVersion.V500);
    }

    /// <summary>Null when the first byte's type and flags are acceptable now, from this side; else why not.</summary>
    private static string? FixedHeaderError(byte first, MqttVersion? version, MqttDirection direction)
    {
        var type = (MqttPacketType)(first >> 4);
        var flags = first & 0x0F;
        var name = MqttNames.Of(type);
        if (type == 0)
        {
            return $"packet type 0 (first byte 0x{first:X2}) is reserved";
        }

        if (version is null && type != MqttPacketType.Connect)
        {
            return $"the first packet must be CONNECT, not {name}";
        }

        if (type == MqttPacketType.Auth && version == MqttVersion.V311)
        {
            return "packet type 15 (AUTH) exists only in MQTT 5";
        }

        var clientOnly = type is MqttPacketType.Connect or MqttPacketType.Subscribe or MqttPacketType.Unsubscribe or MqttPacketType.PingReq
            || (type == MqttPacketType.Disconnect && version == MqttVersion.V311);
        var serverOnly = type is MqttPacketType.ConnAck or MqttPacketType.SubAck or MqttPacketType.UnsubAck or MqttPacketType.PingResp;
        if (clientOnly && direction == MqttDirection.ServerToClient)
        {
            return $"{name} is sent only by clients{(type == MqttPacketType.Disconnect ? " in MQTT 3.1.1" : "")}, but came from the server";
        }

        if (serverOnly && direction == MqttDirection.ClientToServer)
        {
            return $"{name} is sent only by servers, but came from the client";
        }

        if (type == MqttPacketType.Connect && version is not null)
        {
            return "CONNECT came a second time; a client sends it once per connection";
        }

        if (type == MqttPacketType.Publish)
        {
            return (flags & 0b0110) == 0b0110 ? $"PUBLISH asks for QoS 3 (fixed-header flags 0b{flags:B4})"
                : (flags & 0b1110) == 0b1000 ? "PUBLISH sets DUP with QoS 0, which MQTT forbids"
                : null;
        }

        var expected = type is MqttPacketType.PubRel or MqttPacketType.Subscribe or MqttPacketType.Unsubscribe ? 0b0010 : 0;
        return flags == expected ? null : $"{name} fixed-header flags are 0b{flags:B4}; MQTT requires 0b{expected:B4}";
    }
}
