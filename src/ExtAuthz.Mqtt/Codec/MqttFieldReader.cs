using System.Buffers.Binary;

namespace ExtAuthz.Mqtt.Codec;

/// <summary>
/// Reads the fields of one whole packet held in memory, never past <see cref="End"/> (the packet's end, or
/// a property block's while inside one). Each read returns false after recording the first error, which
/// names the packet, the field and the byte offset from the start of the packet.
/// </summary>
internal ref struct MqttFieldReader
{
    private readonly ReadOnlySpan<byte> packet;

    public MqttFieldReader(ReadOnlySpan<byte> packet, int start, string name)
    {
        this.packet = packet;
        Position = start;
        End = packet.Length;
        Name = name;
    }

    /// <summary>The packet's name, e.g. "PUBLISH", which every error begins with.</summary>
    public string Name { get; }

    public int Position { get; private set; }

    /// <summary>Where the current region (the packet, or a property block in it) ends.</summary>
    public int End { get; set; }

    /// <summary>Names the current region in errors about running past its end.</summary>
    public string Region { get; set; } = "packet";

    public string? Error { get; private set; }

    public readonly int Left => End - Position;

    public readonly bool AtEnd => Position == End;

    /// <summary>Records <paramref name="message"/> (prefixed with the packet name) unless an error was already recorded; always false.</summary>
    public bool Fail(string message)
    {
        Error ??= $"{Name} {message}";
        return false;
    }

    public readonly ReadOnlySpan<byte> Slice(int start, int length) => packet.Slice(start, length);

    public bool Byte(string what, out byte value)
    {
        value = 0;
        if (!Has(1, what))
        {
            return false;
        }

        value = packet[Position++];
        return true;
    }

    public bool UInt16(string what, out ushort value)
    {
        value = 0;
        if (!Has(2, what))
        {
            return false;
        }

        value = BinaryPrimitives.ReadUInt16BigEndian(packet[Position..]);
        Position += 2;
        return true;
    }

    public bool UInt32(string what, out uint value)
    {
        value = 0;
        if (!Has(4, what))
        {
            return false;
        }

        value = BinaryPrimitives.ReadUInt32BigEndian(packet[Position..]);
        Position += 4;
        return true;
    }

    /// <summary>A non-zero packet identifier: MQTT forbids 0 wherever one is present.</summary>
    public bool PacketId(out ushort value)
    {
        var at = Position;
        return UInt16("packet identifier", out value) && (value != 0 || Fail($"packet identifier is 0 (byte {at}); MQTT requires a non-zero one"));
    }

    /// <summary>
    /// An MQTT 5 variable byte integer (property lengths, subscription identifiers): at most 4 bytes, and in
    /// the fewest bytes that hold the value, as MQTT 5 requires of every variable byte integer.
    /// </summary>
    public bool VariableByteInteger(string what, out int value)
    {
        value = 0;
        var at = Position;
        for (var count = 0; count < 4; count++)
        {
            if (!Byte(what, out var b))
            {
                return false;
            }

            value |= (b & 0x7F) << (7 * count);
            if ((b & 0x80) == 0)
            {
                return count == 0 || b != 0 || Fail($"{what} at byte {at} is not in the fewest bytes possible, which MQTT 5 requires");
            }
        }

        return Fail($"{what} at byte {at} uses more than 4 bytes");
    }

    /// <summary>Binary data: a two-byte length, then that many bytes, returned as an offset into the packet.</summary>
    public bool Binary(string what, out int start, out int length)
    {
        start = 0;
        length = 0;
        if (!Has(2, what, " length"))
        {
            return false;
        }

        var size = BinaryPrimitives.ReadUInt16BigEndian(packet[Position..]);
        Position += 2;
        if (!Has(size, what))
        {
            return false;
        }

        start = Position;
        length = size;
        Position += size;
        return true;
    }

    /// <summary>A UTF-8 encoded string as MQTT defines it (well-formed, no U+0000, no surrogates), returned as an offset into the packet.</summary>
    public bool Utf8(string what, out int start, out int length) =>
        Binary(what, out start, out length) && (MqttText.Utf8Error(packet.Slice(start, length), start, what) is not { } error || Fail(error));

    /// <summary>A UTF-8 encoded string, decoded.</summary>
    public bool String(string what, out string value)
    {
        value = "";
        if (!Utf8(what, out var start, out var length))
        {
            return false;
        }

        value = MqttText.Decode(packet.Slice(start, length));
        return true;
    }

    /// <summary>Whether <paramref name="count"/> bytes are left; the field's name is composed only for the error, as reads on the success path must not allocate.</summary>
    private bool Has(int count, string what, string suffix = "") =>
        count <= Left || Fail(Region == "packet"
            ? $"is cut short: its {what}{suffix} at byte {Position} needs {count} byte{(count == 1 ? "" : "s")} and {Left} {(Left == 1 ? "remains" : "remain")}"
            : $"{what}{suffix} at byte {Position} runs past the end of the {Region} (byte {End})");
}
