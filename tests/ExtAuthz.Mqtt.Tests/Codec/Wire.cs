using System.Buffers;
using System.Text;
using ExtAuthz.Mqtt.Codec;

namespace ExtAuthz.Mqtt.Tests.Codec;

/// <summary>Builds MQTT bytes by hand, field by field, and reads them back through the codec.</summary>
internal static class Wire
{
    public const MqttDirection Up = MqttDirection.ClientToServer;
    public const MqttDirection Down = MqttDirection.ServerToClient;

    /// <summary>A packet: first byte, remaining length (minimal), then the parts.</summary>
    public static byte[] Packet(byte first, params byte[][] parts)
    {
        var body = Concat(parts);
        return [first, .. Vbi(body.Length), .. body];
    }

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    public static byte[] Str(string text) => Bin(Encoding.UTF8.GetBytes(text));

    public static byte[] Bin(params byte[] data) => [.. U16(data.Length), .. data];

    public static byte[] U16(int value) => [(byte)(value >> 8), (byte)value];

    public static byte[] U32(uint value) => [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];

    public static byte[] Vbi(int value)
    {
        var bytes = new List<byte>();
        do
        {
            var digit = (byte)(value & 0x7F);
            value >>= 7;
            bytes.Add(value > 0 ? (byte)(digit | 0x80) : digit);
        }
        while (value > 0);
        return [.. bytes];
    }

    /// <summary>An MQTT 5 property block: length, then the properties.</summary>
    public static byte[] Props(params byte[][] properties)
    {
        var body = Concat(properties);
        return [.. Vbi(body.Length), .. body];
    }

    public static byte[] B(params byte[] bytes) => bytes;

    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    /// <summary>A v3.1.1 CONNECT from a client, the first packet of every 3.1.1 test stream.</summary>
    public static byte[] Connect311(string clientId = "c") => Packet(0x10, Str("MQTT"), B(4, 0x02), U16(60), Str(clientId));

    /// <summary>Reads one packet from contiguous bytes.</summary>
    public static Result Read(byte[] bytes, MqttVersion? version, MqttDirection direction = Up, int max = MqttPacketReader.DefaultMaxPacketSize) =>
        Read(new ReadOnlySequence<byte>(bytes), version, direction, max);

    public static Result Read(ReadOnlySequence<byte> buffer, MqttVersion? version, MqttDirection direction = Up, int max = MqttPacketReader.DefaultMaxPacketSize)
    {
        var before = buffer;
        var status = MqttPacketReader.TryRead(ref buffer, version, direction, max, out var packet, out var error);
        return new Result(status, packet, error, before.Length - buffer.Length, buffer);
    }

    /// <summary>Reads a packet that must be well-formed.</summary>
    public static MqttPacket Parse(byte[] bytes, MqttVersion? version, MqttDirection direction = Up)
    {
        var result = Read(bytes, version, direction);
        Assert.True(result.Status == MqttReadStatus.Packet, $"{result.Status}: {result.Error}");
        Assert.Equal(bytes.Length, result.Consumed);
        Assert.Equal(bytes, result.Packet!.Raw.ToArray());
        return result.Packet;
    }

    /// <summary>Reads a packet that must be refused, and returns why.</summary>
    public static string Refusal(byte[] bytes, MqttVersion? version, MqttDirection direction = Up)
    {
        var result = Read(bytes, version, direction);
        Assert.True(result.Status == MqttReadStatus.Malformed, $"{result.Status}: {result.Packet}");
        Assert.Equal(0, result.Consumed);
        return result.Error!;
    }


    /// <summary>Everything the codec says about a packet, as text: two reads of the same bytes must agree on it.</summary>
    public static string Describe(MqttPacket packet)
    {
        var text = new StringBuilder($"{packet.Type} v{(int)packet.Version} flags={packet.Flags} id={packet.PacketId} rc={packet.ReasonCode} rs={packet.ReasonString} ");
        text.Append(packet.Connect is { } c
            ? $"{c with { Password = default }} pw={Convert.ToHexString(c.Password.Span)} rm={c.ReceiveMaximum} mps={c.MaximumPacketSize} tam={c.TopicAliasMaximum} am={c.AuthenticationMethod}"
            : "");
        text.Append(packet.ConnAck is { } a
            ? $"{a} mps={a.MaximumPacketSize} tam={a.TopicAliasMaximum} rm={a.ReceiveMaximum} ska={a.ServerKeepAliveSeconds} aci={a.AssignedClientIdentifier}"
            : "");
        text.Append(packet.Publish?.ToString());
        text.Append(packet.Subscribe is { } s
            ? $"{s.PacketId} [{string.Join(",", s.Subscriptions)}] props={Convert.ToHexString(s.Properties.Span)} sid={s.SubscriptionIdentifier}"
            : "");
        text.Append(packet.SubAck is { } k ? $"{k.PacketId} [{string.Join(",", k.ReasonCodes)}]" : "");
        text.Append(packet.Unsubscribe is { } u ? $"{u.PacketId} [{string.Join(",", u.Filters)}]" : "");
        return text.ToString();
    }

    public sealed record Result(MqttReadStatus Status, MqttPacket? Packet, string? Error, long Consumed, ReadOnlySequence<byte> Rest);
}
