using System.Text;

namespace ExtAuthz.Mqtt.Gate;

/// <summary>
/// MQTT 5 topic aliases across the gate. A PUBLISH may name its topic by an alias set by an earlier
/// PUBLISH on the same connection; the gate decides on the topic, so it tracks each direction's
/// aliases as the sender set them, and, since a refused PUBLISH never reaches the receiver, also what
/// the receiver has learnt. An alias-only PUBLISH the receiver cannot resolve (or would resolve to
/// another topic) is forwarded with its topic written back in (<see cref="WithTopic"/>), which also
/// teaches the receiver the alias.
/// </summary>
internal sealed class TopicAliases
{
    private readonly Dictionary<ushort, string> sent = [];
    private readonly Dictionary<ushort, string> learnt = [];

    /// <summary>The topic a PUBLISH names: its own, or its alias's. False when it uses an alias never set.</summary>
    public bool TryResolve(string topic, ushort? alias, out string resolved)
    {
        resolved = topic;
        if (alias is not { } value)
        {
            return true;
        }

        if (topic.Length > 0)
        {
            sent[value] = topic;
            return true;
        }

        if (sent.TryGetValue(value, out var known))
        {
            resolved = known;
            return true;
        }

        return false;
    }

    /// <summary>
    /// Whether the PUBLISH can go on as it is (true), or needs its topic written in (false), given what
    /// the receiver knows; records what the receiver will know once it is forwarded.
    /// </summary>
    public bool Forwarding(string topicInPacket, ushort? alias, string resolved)
    {
        if (alias is not { } value)
        {
            return true;
        }

        var asIs = topicInPacket.Length > 0 || (learnt.TryGetValue(value, out var known) && known == resolved);
        learnt[value] = resolved;
        return asIs;
    }

    /// <summary>
    /// An alias-only PUBLISH (empty topic name) with <paramref name="topic"/> written in; the alias
    /// property stays, so the receiver learns the mapping. Layout: fixed header, remaining length,
    /// topic (2-byte length, here 0), then the rest, unchanged.
    /// </summary>
    public static byte[] WithTopic(ReadOnlySpan<byte> packet, string topic)
    {
        var lengthBytes = 1;
        var remaining = 0;
        for (var multiplier = 1; ; multiplier *= 128, lengthBytes++)
        {
            var digit = packet[lengthBytes];
            remaining += (digit & 0x7F) * multiplier;
            if ((digit & 0x80) == 0)
            {
                break;
            }
        }

        var header = 1 + lengthBytes;
        if (packet[header] != 0 || packet[header + 1] != 0)
        {
            throw new ArgumentException("the PUBLISH already has a topic name", nameof(packet));
        }

        var rest = packet[(header + 2)..];
        var topicLength = Encoding.UTF8.GetByteCount(topic);
        var newRemaining = remaining + topicLength;
        var encodedLength = newRemaining < 128 ? 1 : newRemaining < 16_384 ? 2 : newRemaining < 2_097_152 ? 3 : 4;
        var result = new byte[1 + encodedLength + 2 + topicLength + rest.Length];
        result[0] = packet[0];
        var at = 1;
        var value = newRemaining;
        do
        {
            var digit = (byte)(value % 128);
            value /= 128;
            result[at++] = value > 0 ? (byte)(digit | 0x80) : digit;
        }
        while (value > 0);

        result[at++] = (byte)(topicLength >> 8);
        result[at++] = (byte)topicLength;
        at += Encoding.UTF8.GetBytes(topic, result.AsSpan(at));
        rest.CopyTo(result.AsSpan(at));
        return result;
    }
}
