namespace ExtAuthz.Registry;

/// <summary>
/// AWS IoT's rules for MQTT topic names (what a client publishes to, what a retained message is stored
/// under) and topic filters (what a client subscribes to), shared by the HTTP data plane and the MQTT
/// gate. Each check returns null when the text is valid, else one precise reason naming the offending
/// character's offset (a UTF-16 index into the text).
/// </summary>
/// <remarks>
/// <para>Topic names: not empty; no <c>+</c> or <c>#</c> (wildcards belong only in filters); no U+0000 (MQTT
/// forbids it); valid Unicode, i.e. no lone surrogate (the text was decoded from UTF-8, where a surrogate
/// cannot be encoded); at most 256 bytes of UTF-8 and at most 8 levels (7 <c>/</c>), AWS IoT Core's quotas.
/// Empty levels (<c>a//b</c>, <c>/a</c>, <c>a/</c>) are valid, as in MQTT; each counts as a level.</para>
/// <para>AWS excludes Basic Ingest's mandatory first three levels, <c>$aws/rules/{rule}/</c>, from both the
/// 256 bytes and the 7 slashes, and so do we. AWS's own device SDK also excludes a shared subscription's
/// <c>$share/{ShareName}/</c> from a filter's level count, and never applies the 256-byte quota to filters
/// (AWS states it for the topic of a publish only); we follow the SDK. Decision: both prefixes are matched
/// case-sensitively (the SDK ignores case), because topics are case-sensitive and every reserved topic AWS
/// documents is spelled <c>$aws/</c>. The whole text, prefix included, stays within MQTT's 65,535-byte
/// string limit.</para>
/// <para>Filters follow MQTT 3.1.1 and 5: <c>#</c> only as the last level and alone in it, <c>+</c> alone
/// in its level; <c>$share/{ShareName}/{filter}</c> needs a non-empty share name without <c>/</c>,
/// <c>+</c> or <c>#</c> and a non-empty filter after it.</para>
/// <para>MQTT only advises against control characters (U+0001–U+001F, U+007F–U+009F) and non-characters;
/// AWS documents nothing about them, so they are accepted.</para>
/// <para>Reserved topics begin with <c>$</c>. AWS reserves all of them and defines only <c>$aws/…</c>
/// ones, and refuses RETAIN on any of them; <see cref="PublishTopicError"/> adds those two rules to
/// <see cref="TopicNameError"/>. Which <c>$aws/…</c> topics accept a publish is left to policies and to
/// the broker: AWS adds reserved topics with each feature, so a list here would go stale.</para>
/// </remarks>
public static class IotTopics
{
    /// <summary>AWS IoT's topic size quota, in UTF-8 bytes, not counting a Basic Ingest prefix.</summary>
    public const int MaxTopicBytes = 256;

    /// <summary>AWS IoT's quota of 7 forward slashes: 8 levels, not counting a Basic Ingest (or shared subscription) prefix.</summary>
    public const int MaxLevels = 8;

    /// <summary>MQTT's limit for any UTF-8 string in a packet.</summary>
    public const int MaxMqttStringBytes = 65_535;

    private const string BasicIngestPrefix = "$aws/rules/";
    private const string SharePrefix = "$share/";
    private const string AwsReservedPrefix = "$aws/";

    /// <summary>Whether the topic or filter is in the reserved <c>$</c> namespace.</summary>
    public static bool IsReserved(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        return topic.StartsWith('$');
    }

    /// <summary>Null when <paramref name="topic"/> is a valid topic name for AWS IoT; else why not.</summary>
    public static string? TopicNameError(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        if (topic.Length == 0)
        {
            return "a topic name must not be empty";
        }

        for (var i = 0; i < topic.Length; i++)
        {
            var c = topic[i];
            if (c is '+' or '#')
            {
                return $"a topic name must not contain the wildcard '{c}' (offset {i}); wildcards belong only in subscription filters";
            }

            if (CharacterError(topic, ref i, "a topic name") is { } error)
            {
                return error;
            }
        }

        return LimitsError(topic, BasicIngestEnd(topic, 0), "topic name", checkSize: true);
    }

    /// <summary>Null when <paramref name="filter"/> is a valid subscription topic filter for AWS IoT; else why not.</summary>
    public static string? TopicFilterError(string filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.Length == 0)
        {
            return "a topic filter must not be empty";
        }

        var levelStart = 0;
        for (var i = 0; i < filter.Length; i++)
        {
            var c = filter[i];
            if (c == '/')
            {
                levelStart = i + 1;
                continue;
            }

            var alone = i == levelStart && (i + 1 == filter.Length || filter[i + 1] == '/');
            if (c == '+' && !alone)
            {
                return $"the wildcard '+' must be alone in its level of a topic filter (offset {i})";
            }

            if (c == '#' && !(alone && i + 1 == filter.Length))
            {
                return $"the wildcard '#' must be alone in the last level of a topic filter (offset {i})";
            }

            if (CharacterError(filter, ref i, "a topic filter") is { } error)
            {
                return error;
            }
        }

        var counted = 0;
        if (filter.StartsWith(SharePrefix, StringComparison.Ordinal))
        {
            var nameEnd = filter.IndexOf('/', SharePrefix.Length);
            var name = nameEnd < 0 ? filter.AsSpan(SharePrefix.Length) : filter.AsSpan(SharePrefix.Length, nameEnd - SharePrefix.Length);
            if (name.IsEmpty || name.ContainsAny('+', '#') || nameEnd < 0 || nameEnd + 1 == filter.Length)
            {
                return "a shared subscription must be '$share/{ShareName}/{filter}': a non-empty share name without '/', '+' or '#', then '/' and a non-empty topic filter";
            }

            counted = nameEnd + 1;
        }

        return LimitsError(filter, BasicIngestEnd(filter, counted), "topic filter", checkSize: false);
    }

    /// <summary>
    /// Null when a client may publish to <paramref name="topic"/> (with the RETAIN flag when
    /// <paramref name="retain"/>): a valid topic name, not a <c>$</c> topic outside <c>$aws/</c>, and not
    /// retained when reserved.
    /// </summary>
    public static string? PublishTopicError(string topic, bool retain)
    {
        if (TopicNameError(topic) is { } error)
        {
            return error;
        }

        if (!IsReserved(topic))
        {
            return null;
        }

        if (!topic.StartsWith(AwsReservedPrefix, StringComparison.Ordinal))
        {
            return "topics beginning with '$' are reserved by AWS IoT, which defines only '$aws/...' topics";
        }

        return retain ? "a message published to a reserved topic ('$aws/...') cannot be retained; AWS IoT refuses the RETAIN flag there" : null;
    }

    /// <summary>U+0000 or a lone surrogate at <paramref name="i"/>; steps over a valid surrogate pair.</summary>
    private static string? CharacterError(string text, ref int i, string what)
    {
        var c = text[i];
        if (c == '\0')
        {
            return $"{what} must not contain U+0000 (offset {i})";
        }

        if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
        {
            i++;
            return null;
        }

        return char.IsSurrogate(c) ? $"{what} is not valid Unicode: lone surrogate U+{(int)c:X4} at offset {i}" : null;
    }

    /// <summary>Where the counted part begins: after <c>$aws/rules/{rule}/</c> at <paramref name="start"/>, else <paramref name="start"/>.</summary>
    private static int BasicIngestEnd(string text, int start)
    {
        if (string.CompareOrdinal(text, start, BasicIngestPrefix, 0, BasicIngestPrefix.Length) != 0)
        {
            return start;
        }

        var ruleEnd = text.IndexOf('/', start + BasicIngestPrefix.Length);
        return ruleEnd < 0 ? start : ruleEnd + 1;
    }

    private static string? LimitsError(string text, int counted, string what, bool checkSize)
    {
        var total = Utf8Length(text.AsSpan());
        if (total > MaxMqttStringBytes)
        {
            return $"the {what} is {total} bytes of UTF-8; MQTT allows at most {MaxMqttStringBytes}";
        }

        var prefixNote = counted > 0 ? $" (not counting the prefix '{text[..counted]}')" : "";
        var bytes = counted == 0 ? total : Utf8Length(text.AsSpan(counted));
        if (checkSize && bytes > MaxTopicBytes)
        {
            return $"the {what} is {bytes} bytes of UTF-8{prefixNote}; AWS IoT allows at most {MaxTopicBytes}";
        }

        var levels = text.AsSpan(counted).Count('/') + 1;
        return levels > MaxLevels
            ? $"the {what} has {levels} levels{prefixNote}; AWS IoT allows at most {MaxLevels} (7 '/')"
            : null;
    }

    /// <summary>UTF-8 length of text already known to hold no lone surrogate (a pair is 2 + 2 bytes).</summary>
    private static int Utf8Length(ReadOnlySpan<char> text)
    {
        var bytes = 0;
        foreach (var c in text)
        {
            bytes += c < 0x80 ? 1 : c < 0x800 || char.IsSurrogate(c) ? 2 : 3;
        }

        return bytes;
    }
}
