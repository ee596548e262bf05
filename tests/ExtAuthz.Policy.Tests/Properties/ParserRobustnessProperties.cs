using System.Text.RegularExpressions;
using CsCheck;
using Xunit.Abstractions;
using static ExtAuthz.Policy.Tests.Properties.PropertyKit;

namespace ExtAuthz.Policy.Tests.Properties;

/// <summary>
/// Random text, random JSON-ish fragments and mutated valid policies never escape <see cref="PolicyParser.Parse"/>
/// as anything but a <see cref="PolicyParseException"/> with a reason and a sensible position; what does
/// parse can be evaluated without throwing.
/// </summary>
public sealed partial class ParserRobustnessProperties(ITestOutputHelper output)
{
    private const long RandomTextIterations = 10_000;
    private const long FragmentIterations = 6_000;
    private const long MutationIterations = 6_000;

    /// <summary>Valid documents that between them use every element and every kind of condition value.</summary>
    internal static readonly string[] ValidPolicies =
    [
        """
        {
          "Version": "2012-10-17",
          "Statement": [
            {"Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:iot:us-east-1:123456789012:client/${iot:ClientId}"},
            {"Sid": "pub", "Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
             "Resource": ["arn:aws:iot:us-east-1:123456789012:topic/${iot:Connection.Thing.ThingName}/*", "arn:aws:iot:*:*:topic/a/?"]},
            {"Effect": "Deny", "NotAction": "iot:*", "NotResource": "*"}
          ]
        }
        """,
        """
        {"Version":"2012-10-17","Id":"x","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
          "StringLike":{"iot:ClientId":["c*","${cognito-identity.amazonaws.com:sub, 'anon'}"]},
          "StringNotEqualsIgnoreCase":{"iot:DomainName":"${*}${?}${$}"},
          "ForAllValues:StringEquals":{"iot:ConnectAttributes":[]},
          "ForAnyValue:StringLikeIfExists":{"aws:TagKeys":["a?","b*"]},
          "NumericLessThanEquals":{"iot:Num":["5","-1.5e3",7]},
          "DateGreaterThan":{"aws:CurrentTime":["2020-01-01T00:00:00Z","1700000000"]},
          "Bool":{"aws:SecureTransport":true},
          "BinaryEquals":{"iot:Blob":"QUJD"},
          "IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32","192.168.1.1"]},
          "NotIpAddressIfExists":{"aws:VpcSourceIp":"172.16.0.0/12"},
          "ArnLike":{"aws:SourceArn":"arn:aws:iot:*:123456789012:thing/${iot:ClientId}"},
          "Null":{"iot:LastWillTopic":"true"}}}}
        """,
        """
        {"Version": "2008-10-17", "Statement": [{"Effect": "Deny", "Action": ["iot:Subscribe"], "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/a/+/${iot:ClientId}"},
          {"Effect": "Allow", "Action": "iot:Sub*", "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/#"}]}
        """,
        """
        {"Statement": [{"Effect": "Allow", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/us-east-1:1111/x",
          "Condition": {"StringEquals": {"iot:Connection.Thing.Attributes[type]": "sensor"}, "ArnNotEquals": {"iot:LastWillTopic": "arn:aws:iot:us-east-1:1:topic/will"}}}]}
        """,
    ];

    // ---- Generators ------------------------------------------------------------------------------

    /// <summary>Characters JSON cares about, whitespace JSON refuses, NUL, BOM, and surrogates alone and paired.</summary>
    private static readonly string[] FuzzAlphabet =
    [
        "{", "}", "[", "]", "\"", ":", ",", "\\", " ", "\t", "\n", "\r", "\v", "\f", "\u00A0", "\u2028", "\uFEFF", "\0",
        "a", "E", "u", "0", "1", "9", "-", "+", ".", "e", "$", "*", "?", "/", "'", "t", "n", "f",
        "\uD800", "\uDC00", "\uDBFF", Smile, "é",
    ];

    private static readonly string[] Tokens =
    [
        "{", "}", "[", "]", ":", ",", "\"", "\\", " ", "\n",
        "\"Version\"", "\"2012-10-17\"", "\"2008-10-17\"", "\"2012-10-18\"", "\"Id\"", "\"Statement\"", "\"Sid\"",
        "\"Effect\"", "\"Allow\"", "\"Deny\"", "\"allow\"", "\"Action\"", "\"NotAction\"", "\"iot:Publish\"", "\"iot:*\"", "\"*\"", "\"i*t:x\"", "\":x\"",
        "\"Resource\"", "\"NotResource\"", "\"arn:aws:iot:us-east-1:123456789012:topic/${iot:ClientId}\"", "\"arn:aws:iot:::\"", "\"arn:a\"",
        "\"Condition\"", "\"StringLike\"", "\"ForAllValues:StringEquals\"", "\"ForAnyValue:NullIfExists\"", "\"NumericLessThan\"", "\"DateEquals\"",
        "\"IpAddress\"", "\"BinaryEquals\"", "\"Bool\"", "\"Null\"", "\"NullIfExists\"", "\"StringSortOf\"", "\"ArnLike\"", "\"iot:ClientId\"",
        "\"${\"", "\"${k, 'd\"", "\"${k, d}\"", "\"${}\"", "\"${k, 'd' x}\"", "\"Principal\"", "\"NotPrincipal\"", "\"effect\"", "\"\"",
        "true", "false", "null", "0", "-0", "-1.5e300", "1e999999", "123456789012345678901234567890", "01", "+1", ".5", "NaN",
        "\"\\ud800\"", "\"\\udc00x\"", "\"\\ude00\\ud83d\"", "\"\\ud83d\\ude00\"", "\"\\u0000\"", "\"\\uZZZZ\"", "\"\\x\"",
        "\"10.0.0.0/33\"", "\"::1/129\"", "\"10.0.0.1%eth0\"", "\"AAAA\"", "\"====\"", "\"9999999999999\"", "\"-62135596801\"", "\"2024-02-30\"",
        "/* c */", "//", "'x'", "\u00A0", "\uFEFF",
    ];

    private static readonly Gen<string> RandomText = Text(FuzzAlphabet, 0, 60);

    private static readonly Gen<string> TokenSoup =
        Gen.Select(Gen.OneOf(Tokens).Array[0, 40], Gen.Bool, (tokens, spaced) => string.Join(spaced ? " " : "", tokens));

    // Structured random JSON: syntactically valid and mostly well-formed policies, each element present
    // or not and mostly valid, so that the compiler's checks (not only the JSON reader's) are reached
    // and many documents compile.
    private static Gen<string> Str(params string[] values) => Gen.OneOf(values).Select(v => "\"" + v + "\"");

    private static Gen<string> ArrayOf(Gen<string> item, int min, int max) => item.Array[min, max].Select(items => "[" + string.Join(",", items) + "]");

    /// <summary>An object of <paramref name="min"/> to <paramref name="max"/> members drawn from <paramref name="entries"/> (a key may repeat).</summary>
    private static Gen<string> ObjectOf(int min, int max, params (string Key, Gen<string> Value)[] entries) =>
        Gen.OneOf(entries.Select(e => (IGen<string>)e.Value.Select(v => "\"" + e.Key + "\":" + v)).ToArray())
            .Array[min, max].Select(items => "{" + string.Join(",", items) + "}");

    /// <summary>Mostly <paramref name="good"/>, sometimes <paramref name="bad"/>.</summary>
    private static Gen<string> Mostly(Gen<string> good, Gen<string> bad) => Gen.Frequency((9, good), (1, bad));

    /// <summary>A member <c>"key": value</c>, present with weight <paramref name="present"/> against 1, or empty.</summary>
    private static Gen<string> Member(int present, string key, Gen<string> value) =>
        Gen.Frequency((present, value.Select(v => "\"" + key + "\":" + v)), (1, Gen.Const("")));

    private static readonly Gen<string> Scalar = Gen.OneOf(
        Str("", "x", "*", "iot:Publish", "arn:aws:iot:us-east-1:1:topic/${iot:ClientId}", "${", "${x", "${x, 'y'}", "${x, y}", "\\u00e9", "true", "5", "10.0.0.0/8", "QUJD"),
        Gen.OneOf("true", "false", "null", "0", "-3.5", "1e400", "12345678901234567890"));

    private static readonly Gen<string> AnyValue = Gen.Frequency(
        (4, Scalar),
        (1, ArrayOf(Scalar, 0, 3)),
        (1, ObjectOf(0, 2, ("a", Scalar), ("Effect", Scalar))));

    private static Gen<string> OneOrMany(Gen<string> item) => Gen.Frequency((3, item), (2, ArrayOf(item, 1, 3)));

    private static readonly Gen<string> Actions = Mostly(
        OneOrMany(Str("*", "iot:Publish", "iot:*", "IOT:publish", "iot:Pub?ish", "iot:Receive", "iam:*AccessKey*")),
        Gen.OneOf(Str("x", "", ":", "iot:", "i*t:x", ":x"), Gen.Const("[]"), AnyValue));

    private static readonly Gen<string> Resources = Mostly(
        OneOrMany(Str("*", "arn:aws:iot:us-east-1:123456789012:topic/${iot:ClientId}", "arn:aws:iot:*:*:*", "arn:aws:iot:us-east-1:1:topic/a:b",
            "arn:aws:iot:us-east-1:1:topic/${iot:ClientId, 'x'}", "arn:aws:iot:us-east-1:1:topic/${*}${?}${$}", "arn:aws:iot:us-east-1:1:topic/${aws:username}/?")),
        Gen.OneOf(Str("arn:aws", "x", "", "arn:aws:iot:us-east-1:1:topic/${", "arn:aws:iot:us-east-1:1:topic/${iot:ClientId, 'x", "arn:aws:iot:us-east-1:1:topic/${}"), Gen.Const("[]"), AnyValue));

    private static Gen<string> ConditionBlock(Gen<string> good, Gen<string> bad) =>
        ObjectOf(1, 2, ("iot:ClientId", Mostly(OneOrMany(good), bad)), ("aws:SourceIp", Mostly(OneOrMany(good), bad)), ("aws:TagKeys", Mostly(ArrayOf(good, 0, 2), bad)));

    private static readonly Gen<string> BadConditionValue = Gen.OneOf(Str("abc", "", "${", "300.1.1.1", "Q", "maybe", "99999999999999999999999999999999"), Gen.OneOf("null", "{}", "[[]]", "[]"));

    private static readonly Gen<string> Condition = Mostly(
        ObjectOf(1, 3,
            ("StringEquals", ConditionBlock(Str("c1", "${iot:ClientId}", "${iot:ClientId, 'd'}", ""), BadConditionValue)),
            ("StringLike", ConditionBlock(Str("c*", "?1", "${*}"), BadConditionValue)),
            ("StringNotLikeIfExists", ConditionBlock(Str("c*", "${iot:ClientId}"), BadConditionValue)),
            ("StringEqualsIgnoreCase", ConditionBlock(Str("C1"), BadConditionValue)),
            ("NumericGreaterThan", ConditionBlock(Gen.OneOf(Str("5", "-1.5", "1e3"), Gen.OneOf("5", "-0.5")), BadConditionValue)),
            ("DateLessThanEquals", ConditionBlock(Str("2020-01-01T00:00:00Z", "1700000000", "2020-01-01"), BadConditionValue)),
            ("Bool", ConditionBlock(Gen.OneOf(Str("true", "false", "${aws:SecureTransport}"), Gen.OneOf("true", "false")), BadConditionValue)),
            ("BinaryEquals", ConditionBlock(Str("QUJD", ""), BadConditionValue)),
            ("IpAddress", ConditionBlock(Str("10.0.0.0/8", "::1", "2001:db8::/32", "192.168.0.1"), BadConditionValue)),
            ("NotIpAddressIfExists", ConditionBlock(Str("10.0.0.0/8"), BadConditionValue)),
            ("ArnLike", ConditionBlock(Str("arn:aws:iot:*:1:topic/${iot:ClientId}", "*"), BadConditionValue)),
            ("Null", ConditionBlock(Str("true", "false"), BadConditionValue)),
            ("ForAllValues:StringEquals", ConditionBlock(Str("LastWill"), Gen.Const("[]"))),
            ("ForAnyValue:StringLike", ConditionBlock(Str("Last*"), Gen.Const("[]"))),
            ("NullIfExists", ConditionBlock(Str("true"), BadConditionValue)),
            ("ForAnyValue:Null", ConditionBlock(Str("true"), BadConditionValue)),
            ("StringSortOf", ConditionBlock(Str("x"), BadConditionValue))),
        Gen.OneOf(Gen.Const("{}"), AnyValue, ObjectOf(1, 1, ("StringEquals", AnyValue))));

    private static readonly Gen<string> StatementGen =
        Gen.Select(
            Member(1, "Sid", Mostly(Str("s1", ""), AnyValue)),
            Member(12, "Effect", Mostly(Str("Allow", "Deny"), Gen.OneOf(Str("allow", "DENY", ""), AnyValue))),
            Gen.Frequency((8, Member(12, "Action", Actions)), (2, Member(12, "NotAction", Actions))),
            Gen.Frequency((8, Member(12, "Resource", Resources)), (2, Member(12, "NotResource", Resources))),
            Member(1, "Condition", Condition),
            Gen.Frequency((20, Gen.Const("")), (1, Member(1, "Principal", Str("*"))), (1, Member(1, "resource", Str("*"))), (1, Member(1, "NotAction", Actions))),
            (sid, effect, action, resource, condition, junk) =>
                "{" + string.Join(",", new[] { sid, effect, action, resource, condition, junk }.Where(m => m.Length > 0)) + "}");

    private static readonly Gen<string> StructuredDocument =
        Gen.Select(
            Member(6, "Version", Mostly(Str("2012-10-17", "2008-10-17"), Gen.OneOf(Str("2012-10-18", ""), AnyValue))),
            Member(1, "Id", Str("id")),
            Member(20, "Statement", Mostly(Gen.Frequency((3, ArrayOf(StatementGen, 1, 3)), (1, StatementGen)), Gen.OneOf(Gen.Const("[]"), AnyValue))),
            Gen.Frequency((20, Gen.Const("")), (1, Member(1, "statement", AnyValue)), (1, Member(1, "Version", Str("2012-10-17")))),
            (version, id, statement, junk) => "{" + string.Join(",", new[] { version, id, statement, junk }.Where(m => m.Length > 0)) + "}");

    // ---- Mutations -------------------------------------------------------------------------------

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"|-?[0-9][0-9.eE+-]*|true|false|null|[{}\\[\\]:,]")]
    private static partial Regex JsonToken();

    [GeneratedRegex("\"[^\"\\\\]*\"\\s*:\\s*(?:\"[^\"\\\\]*\"|true|false|null|-?[0-9.eE+-]+)")]
    private static partial Regex SimpleMember();

    /// <summary>Applies one random edit (a third of the time up to four) to <paramref name="text"/>, driven by <paramref name="choices"/>.</summary>
    internal static string Mutate(string text, Choices choices)
    {
        for (var edits = choices.Next(3) == 0 ? 1 + choices.Next(4) : 1; edits > 0; edits--)
        {
            text = MutateOnce(text, choices);
        }

        return text;
    }

    private static string MutateOnce(string text, Choices choices)
    {
        var tokens = JsonToken().Matches(text);
        var at = choices.Next(text.Length + 1);
        switch (choices.Next(12))
        {
            case 0: // delete a short range
                return text.Remove(at, Math.Min(1 + choices.Next(5), text.Length - at));
            case 1: // insert a character
                return text.Insert(at, choices.Pick(FuzzAlphabet));
            case 2 when at < text.Length: // replace a character
                return text.Remove(at, 1).Insert(at, choices.Pick(FuzzAlphabet));
            case 3: // insert a token
                return text.Insert(at, choices.Pick(Tokens));
            case 4 when tokens.Count >= 2: // swap two tokens
                {
                    var a = tokens[choices.Next(tokens.Count)];
                    var b = tokens[choices.Next(tokens.Count)];
                    if (a.Index > b.Index)
                    {
                        (a, b) = (b, a);
                    }

                    if (a.Index + a.Length > b.Index)
                    {
                        return text;
                    }

                    return text[..a.Index] + b.Value + text[(a.Index + a.Length)..b.Index] + a.Value + text[(b.Index + b.Length)..];
                }

            case 5: // duplicate a key: "k": v becomes "k": v, "k": v
                {
                    var members = SimpleMember().Matches(text);
                    if (members.Count == 0)
                    {
                        return text;
                    }

                    var m = members[choices.Next(members.Count)];
                    return text.Insert(m.Index + m.Length, ", " + m.Value);
                }

            case 6 when tokens.Count > 0: // deep nesting around a token
                {
                    var t = tokens[choices.Next(tokens.Count)];
                    var depth = 1 + choices.Next(300);
                    var (open, close) = choices.Next(2) == 0 ? ("[", "]") : ("{\"a\":", "}");
                    var wrapped = string.Concat(Enumerable.Repeat(open, depth)) + t.Value + string.Concat(Enumerable.Repeat(close, depth));
                    return string.Concat(text.AsSpan(0, t.Index), wrapped, text.AsSpan(t.Index + t.Length));
                }

            case 7 when tokens.Count > 0: // a huge value in place of a token
                {
                    var t = tokens[choices.Next(tokens.Count)];
                    var huge = choices.Next(6) switch
                    {
                        0 => "\"" + new string('a', 300_000) + "\"",                       // over the document limit
                        1 => "\"" + new string('*', 50_000) + "\"",                        // a long wildcard pattern
                        2 => "[" + string.Join(",", Enumerable.Repeat("\"iot:Publish\"", 1001 + choices.Next(50))) + "]", // over the value limit
                        3 => new string('9', 400),                                            // a number no type holds
                        4 => "\"arn:aws:iot:us-east-1:1:topic/" + string.Concat(Enumerable.Repeat("${k}", 5000)) + "\"",
                        _ => "1e" + new string('9', 30),
                    };
                    return string.Concat(text.AsSpan(0, t.Index), huge, text.AsSpan(t.Index + t.Length));
                }

            case 8: // invalid UTF-16: a lone surrogate, raw or escaped, preferably inside a string
                {
                    var strings = tokens.Where(t => t.Value.StartsWith('"')).ToList();
                    var position = at;
                    if (strings.Count > 0)
                    {
                        var s = strings[choices.Next(strings.Count)];
                        position = s.Index + 1 + choices.Next(s.Length - 1);
                    }

                    string[] bad = ["\uD800", "\uDFFF", "\uDE00\uD83D", "\\uD800", "\\uDC00", "\\uDE00\\uD83D", "\\uD83D\\u0041", "\\uD83D"];
                    return text.Insert(position, choices.Pick(bad));
                }

            case 9 when tokens.Count > 0: // replace a token with another
                {
                    var t = tokens[choices.Next(tokens.Count)];
                    return string.Concat(text.AsSpan(0, t.Index), choices.Pick(Tokens), text.AsSpan(t.Index + t.Length));
                }

            case 10: // truncate
                return text[..at];
            case 11 when tokens.Count > 0: // duplicate a token
                {
                    var t = tokens[choices.Next(tokens.Count)];
                    return text.Insert(t.Index, t.Value);
                }
        }

        return text;
    }

    // ---- The property ----------------------------------------------------------------------------

    private static readonly AuthorizationRequest[] Requests =
    [
        new("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/c1/x", new RequestContext().Set("iot:ClientId", "c1").Set("aws:SourceIp", "10.1.2.3")),
        new("iot:Connect", "arn:aws:iot:us-east-1:123456789012:client/c1", new RequestContext().Set("iot:ConnectAttributes", ["LastWill"]).Set("iot:Num", "3")),
        new("iot:Subscribe", "arn:aws:iot:us-east-1:1:topicfilter/a/+/x"),
    ];

    /// <summary>
    /// Parse must either succeed or throw <see cref="PolicyParseException"/> (anything else escapes and
    /// fails the property); the exception has a reason and a position inside the document; a document
    /// that parses can be evaluated.
    /// </summary>
    private static bool ParsesOrRefusesCleanly(string text)
    {
        PolicyDocument policy;
        try
        {
            policy = PolicyParser.Parse("fuzz", text);
        }
        catch (PolicyParseException ex)
        {
            Assert.False(string.IsNullOrWhiteSpace(ex.Reason), "empty Reason");
            Assert.True(ex.Line >= 0, $"Line {ex.Line}");
            if (ex.Line > 0)
            {
                Assert.True(ex.Column > 0, $"Line {ex.Line} but Column {ex.Column}: {ex.Message}");
                Assert.True(ex.Line <= text.Count(c => c == '\n') + 1, $"Line {ex.Line} beyond the document: {ex.Message}");
            }

            Assert.Equal("fuzz", ex.PolicyName);
            return false;
        }

        var set = PolicySet.Create(policy);
        foreach (var request in Requests)
        {
            var decision = PolicyEvaluator.Decide(set, set, request);
            Assert.Equal(decision.Kind, PolicyEvaluator.Explain(set, set, request).Decision);
        }

        return true;
    }

    /// <summary>Runs the property and logs how many inputs parsed, so that a generator that only ever produces refusals shows.</summary>
    private void Check(Gen<string> gen, long iter)
    {
        var parsed = 0L;
        var total = 0L;
        Run(gen, text =>
        {
            Interlocked.Increment(ref total);
            if (ParsesOrRefusesCleanly(text))
            {
                Interlocked.Increment(ref parsed);
            }
        }, iter, output, PrintText);
        output.WriteLine($"{parsed} of {total} inputs parsed; the rest were refused with a PolicyParseException");
    }

    private static string PrintText(string text) => $"{Show(text, 1500)} (length {text.Length})";

    [Fact]
    public void Random_text_is_refused_with_a_typed_error() =>
        Check(RandomText, RandomTextIterations);

    [Fact]
    public void Random_token_soup_is_refused_with_a_typed_error() =>
        Check(TokenSoup, FragmentIterations);

    [Fact]
    public void Random_structured_documents_parse_or_are_refused_with_a_typed_error() =>
        Check(StructuredDocument, FragmentIterations);

    [Fact]
    public void Mutated_valid_policies_parse_or_are_refused_with_a_typed_error() =>
        Check(Gen.Select(Gen.Frequency((3, Gen.OneOf(ValidPolicies)), (1, StructuredDocument)), ChoiceList(2, 30), (seed, choices) => Mutate(seed, new Choices(choices))),
            MutationIterations);

    [Fact]
    public void The_seed_policies_are_valid()
    {
        foreach (var text in ValidPolicies)
        {
            var policy = PolicyParser.Parse("seed", text);
            Assert.NotEmpty(policy.Statements);
        }
    }
}
