using System.Text;
using CsCheck;
using Xunit.Abstractions;

namespace ExtAuthz.Registry.Tests.Iot;

/// <summary>
/// AWS IoT's topic name and topic filter rules: MQTT's syntax (no wildcards in names, <c>#</c> last and
/// alone, <c>+</c> alone, no U+0000, valid Unicode) and AWS's quotas (256 UTF-8 bytes for a topic, 8
/// levels), which do not count a Basic Ingest or shared subscription prefix; and the reserved-topic
/// rules for publishing.
/// </summary>
public sealed class IotTopicsTests(ITestOutputHelper output)
{
    private static readonly string Levels8 = "1/2/3/4/5/6/7/8";
    private static readonly string Levels9 = "1/2/3/4/5/6/7/8/9";

    public static TheoryData<string> ValidTopicNames => new()
    {
        "a",
        "sensors/room1/temperature",
        "/",
        "a//b",
        "/a",
        "a/",
        "a b",
        "$aws/things/t1/shadow/update",
        "caf\u00e9/\U0001F600",
        "a*b?c",
        Levels8,
        "$aws/rules/MyRule/" + Levels8,
        "$aws/rules/MyRule/",
        "$aws/rules/MyRule",
        new string('x', 256),
        new string('\u00e9', 128),
        "$aws/rules/MyRule/" + new string('x', 256),
        "a\u0001b",
    };

    [Theory]
    [MemberData(nameof(ValidTopicNames))]
    public void Valid_topic_names_pass(string topic) => Assert.Null(IotTopics.TopicNameError(topic));

    public static TheoryData<string, string> InvalidTopicNames => new()
    {
        { "", "a topic name must not be empty" },
        { "a/+", "a topic name must not contain the wildcard '+' (offset 2); wildcards belong only in subscription filters" },
        { "a/#", "a topic name must not contain the wildcard '#' (offset 2); wildcards belong only in subscription filters" },
        { "a+b", "a topic name must not contain the wildcard '+' (offset 1); wildcards belong only in subscription filters" },
        { "a\0b", "a topic name must not contain U+0000 (offset 1)" },
        { "ab\uD800", "a topic name is not valid Unicode: lone surrogate U+D800 at offset 2" },
        { "\uDC00a", "a topic name is not valid Unicode: lone surrogate U+DC00 at offset 0" },
        { "\uD800\uD800\uDC00", "a topic name is not valid Unicode: lone surrogate U+D800 at offset 0" },
        { new string('x', 257), "the topic name is 257 bytes of UTF-8; AWS IoT allows at most 256" },
        { new string('\u00e9', 129), "the topic name is 258 bytes of UTF-8; AWS IoT allows at most 256" },
        { new string('x', 253) + "\U0001F600", "the topic name is 257 bytes of UTF-8; AWS IoT allows at most 256" },
        { Levels9, "the topic name has 9 levels; AWS IoT allows at most 8 (7 '/')" },
        { "a////////", "the topic name has 9 levels; AWS IoT allows at most 8 (7 '/')" },
        { "$aws/rules/R/" + Levels9, "the topic name has 9 levels (not counting the prefix '$aws/rules/R/'); AWS IoT allows at most 8 (7 '/')" },
        { "$aws/rules/R/" + new string('x', 257), "the topic name is 257 bytes of UTF-8 (not counting the prefix '$aws/rules/R/'); AWS IoT allows at most 256" },
        { "$AWS/rules/R/1/2/3/4/5/6", "the topic name has 9 levels; AWS IoT allows at most 8 (7 '/')" },
        { "$aws/rules/" + new string('r', 65_530) + "/x", "the topic name is 65543 bytes of UTF-8; MQTT allows at most 65535" },
    };

    [Theory]
    [MemberData(nameof(InvalidTopicNames), DisableDiscoveryEnumeration = true)]
    public void Invalid_topic_names_are_refused_with_the_reason(string topic, string reason) => Assert.Equal(reason, IotTopics.TopicNameError(topic));

    public static TheoryData<string> ValidFilters => new()
    {
        "#",
        "+",
        "a/#",
        "a/+/b",
        "+/+",
        "/+",
        "+/",
        "a/b",
        "//#",
        "$aws/things/+/shadow/update/#",
        "$share/group/a/#",
        "$share/group/" + Levels8,
        "$share/group/$aws/rules/R/" + Levels8,
        "$aws/rules/R/" + Levels8,
        Levels8,
        new string('x', 300),
        "caf\u00e9/\U0001F600/+",
    };

    [Theory]
    [MemberData(nameof(ValidFilters))]
    public void Valid_filters_pass(string filter) => Assert.Null(IotTopics.TopicFilterError(filter));

    private const string ShareShape = "a shared subscription must be '$share/{ShareName}/{filter}': a non-empty share name without '/', '+' or '#', then '/' and a non-empty topic filter";

    public static TheoryData<string, string> InvalidFilters => new()
    {
        { "", "a topic filter must not be empty" },
        { "a#", "the wildcard '#' must be alone in the last level of a topic filter (offset 1)" },
        { "a/#/b", "the wildcard '#' must be alone in the last level of a topic filter (offset 2)" },
        { "#/", "the wildcard '#' must be alone in the last level of a topic filter (offset 0)" },
        { "##", "the wildcard '#' must be alone in the last level of a topic filter (offset 0)" },
        { "a+", "the wildcard '+' must be alone in its level of a topic filter (offset 1)" },
        { "+a/b", "the wildcard '+' must be alone in its level of a topic filter (offset 0)" },
        { "a/b+/c", "the wildcard '+' must be alone in its level of a topic filter (offset 3)" },
        { "a/\0", "a topic filter must not contain U+0000 (offset 2)" },
        { "a/\uDBFF", "a topic filter is not valid Unicode: lone surrogate U+DBFF at offset 2" },
        { Levels9, "the topic filter has 9 levels; AWS IoT allows at most 8 (7 '/')" },
        { "+/+/+/+/+/+/+/+/#", "the topic filter has 9 levels; AWS IoT allows at most 8 (7 '/')" },
        { "$share/g/" + Levels9, "the topic filter has 9 levels (not counting the prefix '$share/g/'); AWS IoT allows at most 8 (7 '/')" },
        { "$share/", ShareShape },
        { "$share//a", ShareShape },
        { "$share/g", ShareShape },
        { "$share/g/", ShareShape },
        { "$share/+/a", ShareShape },
        { "$share/#", ShareShape },
    };

    [Theory]
    [MemberData(nameof(InvalidFilters), DisableDiscoveryEnumeration = true)]
    public void Invalid_filters_are_refused_with_the_reason(string filter, string reason) => Assert.Equal(reason, IotTopics.TopicFilterError(filter));

    [Theory]
    [InlineData("a/b", false, null)]
    [InlineData("a/b", true, null)]
    [InlineData("$aws/things/t1/shadow/update", false, null)]
    [InlineData("$aws/rules/MyRule/x", false, null)]
    [InlineData("$aws/things/t1/shadow/update", true, "a message published to a reserved topic ('$aws/...') cannot be retained; AWS IoT refuses the RETAIN flag there")]
    [InlineData("$SYS/broker", false, "topics beginning with '$' are reserved by AWS IoT, which defines only '$aws/...' topics")]
    [InlineData("$", false, "topics beginning with '$' are reserved by AWS IoT, which defines only '$aws/...' topics")]
    [InlineData("$AWS/things/t1/shadow/update", false, "topics beginning with '$' are reserved by AWS IoT, which defines only '$aws/...' topics")]
    [InlineData("$aws/+", false, "a topic name must not contain the wildcard '+' (offset 5); wildcards belong only in subscription filters")]
    public void Publishing_adds_the_reserved_topic_rules(string topic, bool retain, string? reason) =>
        Assert.Equal(reason, IotTopics.PublishTopicError(topic, retain));

    [Theory]
    [InlineData("$aws/things/t1/shadow/get", true)]
    [InlineData("$share/g/a", true)]
    [InlineData("$", true)]
    [InlineData("a/$aws", false)]
    [InlineData("", false)]
    public void Reserved_topics_begin_with_a_dollar_sign(string topic, bool reserved) => Assert.Equal(reserved, IotTopics.IsReserved(topic));

    // ---- Properties --------------------------------------------------------------------------------

    /// <summary>Symbols that reach every rule: separators, wildcards, NUL, surrogates alone and paired, multi-byte text, the special prefixes, and long runs for the size quota.</summary>
    private static readonly string[] Alphabet =
    [
        "a", "/", "/", "/", "+", "#", "$", "\0", "\u00e9", "\U0001F600", "\uD800", "\uDC00",
        "$aws/", "$aws/rules/", "rules/", "$share/", "$share", new string('y', 100),
    ];

    private static readonly Gen<string> TextGen = Gen.OneOf(Alphabet).Array[0, 14].Select(string.Concat);

    [Fact]
    public void Topic_names_agree_with_a_reference_built_from_split()
    {
        TextGen.Sample(topic =>
        {
            var expected = ReferenceTopicName(topic);
            var error = IotTopics.TopicNameError(topic);
            Assert.True(expected == (error is null), $"reference says {(expected ? "valid" : "invalid")}, TopicNameError says {error ?? "valid"}");
        }, writeLine: output.WriteLine, iter: 20_000, print: Show);
    }

    [Fact]
    public void Topic_filters_agree_with_a_reference_built_from_split()
    {
        TextGen.Sample(filter =>
        {
            var expected = ReferenceFilter(filter);
            var error = IotTopics.TopicFilterError(filter);
            Assert.True(expected == (error is null), $"reference says {(expected ? "valid" : "invalid")}, TopicFilterError says {error ?? "valid"}");
        }, writeLine: output.WriteLine, iter: 20_000, print: Show);
    }

    [Fact]
    public void A_valid_topic_name_without_a_share_prefix_is_also_a_valid_filter()
    {
        TextGen.Where(topic => !topic.StartsWith("$share/", StringComparison.Ordinal) && IotTopics.TopicNameError(topic) is null)
            .Sample(topic => Assert.Null(IotTopics.TopicFilterError(topic)), writeLine: output.WriteLine, iter: 5_000, print: Show);
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static bool ValidUnicode(string text)
    {
        try
        {
            StrictUtf8.GetByteCount(text);
            return true;
        }
        catch (EncoderFallbackException)
        {
            return false;
        }
    }

    /// <summary>The levels AWS counts: without a leading <c>$aws/rules/{rule}/</c>.</summary>
    private static string[] CountedLevels(string[] levels) =>
        levels.Length >= 4 && levels[0] == "$aws" && levels[1] == "rules" ? levels[3..] : levels;

    private static bool ReferenceTopicName(string topic)
    {
        if (topic.Length == 0 || topic.AsSpan().ContainsAny("+#\0") || !ValidUnicode(topic) || StrictUtf8.GetByteCount(topic) > 65_535)
        {
            return false;
        }

        var counted = CountedLevels(topic.Split('/'));
        return StrictUtf8.GetByteCount(string.Join('/', counted)) <= 256 && counted.Length <= 8;
    }

    private static bool ReferenceFilter(string filter)
    {
        if (filter.Length == 0 || filter.Contains('\0', StringComparison.Ordinal) || !ValidUnicode(filter) || StrictUtf8.GetByteCount(filter) > 65_535)
        {
            return false;
        }

        var levels = filter.Split('/');
        for (var k = 0; k < levels.Length; k++)
        {
            var level = levels[k];
            if ((level.Contains('#', StringComparison.Ordinal) && (level != "#" || k != levels.Length - 1))
                || (level.Contains('+', StringComparison.Ordinal) && level != "+"))
            {
                return false;
            }
        }

        if (filter.StartsWith("$share/", StringComparison.Ordinal))
        {
            if (levels.Length < 3 || levels[1].Length == 0 || levels[1] is "+" or "#" || string.Join('/', levels[2..]).Length == 0)
            {
                return false;
            }

            levels = levels[2..];
        }

        return CountedLevels(levels).Length <= 8;
    }

    private static string Show(string text)
    {
        var sb = new StringBuilder("«");
        foreach (var c in text)
        {
            sb.Append(c is >= ' ' and <= '~' ? c.ToString() : $"\\u{{{(int)c:X4}}}");
        }

        return sb.Append('»').ToString();
    }
}
