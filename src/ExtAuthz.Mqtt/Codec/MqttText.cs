using System.Buffers;
using System.Text;

namespace ExtAuthz.Mqtt.Codec;

/// <summary>
/// MQTT's well-formedness rules for strings, topic names and topic filters, checked on the bytes of the
/// packet so errors can name the byte. These are the MQTT specification's rules only: AWS IoT's quotas and
/// reserved topics are <see cref="ExtAuthz.Registry.IotTopics"/>'s, which the gate applies to the decoded
/// strings. '+', '#' and '/' are ASCII, and UTF-8 never uses ASCII bytes inside a multi-byte character,
/// so scanning bytes for them is exact once the text is known to be valid UTF-8.
/// </summary>
internal static class MqttText
{
    public static string Decode(ReadOnlySpan<byte> utf8) => utf8.IsEmpty ? "" : Encoding.UTF8.GetString(utf8);

    /// <summary>Null when <paramref name="text"/> is well-formed UTF-8 without U+0000; else the first problem, at its byte in the packet.</summary>
    public static string? Utf8Error(ReadOnlySpan<byte> text, int offset, string what)
    {
        var nul = text.IndexOf((byte)0);
        if (System.Text.Unicode.Utf8.IsValid(text))
        {
            return nul < 0 ? null : NulError(offset + nul, what);
        }

        var invalid = FirstInvalid(text);
        if (nul >= 0 && nul < invalid)
        {
            return NulError(offset + nul, what);
        }

        // ED A0..BF starts the 3-byte form of U+D800..U+DFFF, which UTF-8 excludes and MQTT names separately.
        var surrogate = invalid + 1 < text.Length && text[invalid] == 0xED && text[invalid + 1] >= 0xA0;
        return $"{what} is not valid UTF-8 at byte {offset + invalid}{(surrogate ? " (an encoded UTF-16 surrogate, which MQTT forbids)" : "")}";
    }

    /// <summary>Null when a topic name has no wildcard; emptiness is the caller's (MQTT 5 allows it with a topic alias).</summary>
    public static string? TopicNameError(ReadOnlySpan<byte> name, int offset, string what)
    {
        var wildcard = name.IndexOfAny((byte)'+', (byte)'#');
        return wildcard < 0
            ? null
            : $"{what} contains the wildcard '{(char)name[wildcard]}' at byte {offset + wildcard}; wildcards belong only in topic filters";
    }

    /// <summary>Null when '#' stands alone in the last level of a topic filter and '+' alone in its level; emptiness is the caller's.</summary>
    public static string? TopicFilterError(ReadOnlySpan<byte> filter, int offset, string what)
    {
        if (filter.IndexOfAny((byte)'+', (byte)'#') < 0)
        {
            return null;
        }

        var levelStart = 0;
        for (var i = 0; i < filter.Length; i++)
        {
            var b = filter[i];
            if (b == '/')
            {
                levelStart = i + 1;
                continue;
            }

            var alone = i == levelStart && (i + 1 == filter.Length || filter[i + 1] == '/');
            if (b == '+' && !alone)
            {
                return $"{what} has '+' at byte {offset + i} sharing a level; '+' must be a whole level";
            }

            if (b == '#' && !(alone && i + 1 == filter.Length))
            {
                return $"{what} has '#' at byte {offset + i} that is not the whole last level";
            }
        }

        return null;
    }

    private static string NulError(int at, string what) => $"{what} contains U+0000 at byte {at}, which MQTT forbids";

    /// <summary>Offset of the first byte that does not start a valid UTF-8 sequence (the length when there is none).</summary>
    private static int FirstInvalid(ReadOnlySpan<byte> text)
    {
        var i = 0;
        while (i < text.Length && Rune.DecodeFromUtf8(text[i..], out _, out var consumed) == OperationStatus.Done)
        {
            i += consumed;
        }

        return i;
    }
}
