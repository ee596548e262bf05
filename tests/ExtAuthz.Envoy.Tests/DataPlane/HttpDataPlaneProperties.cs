using System.Globalization;
using System.Text;
using CsCheck;
using ExtAuthz.Envoy.DataPlane;
using ExtAuthz.Envoy.Tests.Support;
using ExtAuthz.Registry;
using Xunit.Abstractions;

namespace ExtAuthz.Envoy.Tests.DataPlane;

/// <summary>
/// <see cref="HttpDataPlane.Match"/> on generated input: it never throws and always answers a well-formed
/// operation or refusal, whatever the method and path; and a valid topic, percent-encoded any way a client
/// may encode it, comes back exactly (decoded once).
/// </summary>
public sealed class HttpDataPlaneProperties(ITestOutputHelper output)
{
    private static readonly string[] Methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "get", "", "G\u00c9T"];

    private static readonly string[] ValidPaths =
    [
        "/topics/a/b?qos=1&retain=true",
        "/topics/$aws/things/t1/shadow/update",
        "/topics/caf%C3%A9%2Fx",
        "/retainedMessage/a%2Fb",
        "/retainedMessage?maxResults=5",
        "/things/t1/shadow?name=s1",
        "/things/t1/jobs/$next",
        "/things/t1/jobs/job-1?executionNumber=1",
        "/api/things/shadow/ListNamedShadowsForThing/t1?pageSize=2",
        "/mqtt?X-Amz-Signature=abc",
        "/connections/c%2F1",
    ];

    /// <summary>Fragments that reach every rule: separators, escapes (whole, cut, bad, dots, slashes, invalid UTF-8), route words, reserved and wildcard characters, controls and non-ASCII.</summary>
    private static readonly string[] Fragments =
    [
        "/", "//", "?", "&", "=", "%", "%2", "%2F", "%2f", "%2e", "%2E", "%25", "%C3", "%A9", "%FF", "%ED%A0%80", "%00", "%G1",
        ".", "..", "$", "$next", "+", "#", "a", "t1", "topics", "things", "shadow", "jobs", "retainedMessage", "mqtt", "connections",
        "api", "ListNamedShadowsForThing", "messages", "qos", "qos=1", "retain=true", "name=", "name=s", " ", "\t", "\0", "\u00e9",
        "\uD800", "\U0001F600", "x/y/z/w/v/u/t/s/r",
    ];

    private static readonly RequestLineGen Requests = new(ValidPaths, Fragments, maxFragments: 12, Methods);

    [Fact]
    public void Match_never_throws_and_always_answers_a_well_formed_route()
    {
        Gen.Select(Requests.AnyMethod, Requests.AnyPath).Sample((method, path) =>
        {
            var route = HttpDataPlane.Match(method, path);
            if (!route.IsOperation)
            {
                Assert.Contains(route.HttpStatus, new[] { 400, 404, 405 });
                Assert.False(string.IsNullOrEmpty(route.Reason));
                Assert.Empty(route.Permissions);
                return;
            }

            Assert.Equal((0, (string?)null), (route.HttpStatus, route.Reason));
            Assert.Equal(route.Operation == "WebSocketUpgrade", route.Permissions.Count == 0);
            foreach (var (action, resource) in route.Permissions)
            {
                Assert.True(action.StartsWith("iot:", StringComparison.Ordinal) || action.StartsWith("iotjobsdata:", StringComparison.Ordinal), action);
                Assert.True(resource == "*" || resource.StartsWith("topic/", StringComparison.Ordinal)
                    || resource.StartsWith("thing/", StringComparison.Ordinal) || resource.StartsWith("client/", StringComparison.Ordinal), resource);
            }

            if (route.Operation == "Publish")
            {
                Assert.Null(IotTopics.PublishTopicError(route.Topic!, route.Retain));
                Assert.All(route.Permissions, permission => Assert.Equal("topic/" + route.Topic, permission.Resource));
                Assert.Equal(route.Retain ? 2 : 1, route.Permissions.Count);
            }
        }, writeLine: output.WriteLine, iter: 50_000, print: input => $"{Show(input.Item1)} {Show(input.Item2)}");
    }

    /// <summary>Characters of topic levels: plain, reserved in URLs, escapes' own '%', multi-byte, and a surrogate pair.</summary>
    private static readonly string[] TopicCharacters = ["a", "B", "0", "-", "_", ".", "~", "!", "$", "&", "'", "(", "*", ",", ";", "=", ":", "@", " ", "%", "?", "\"", "\u00e9", "\u20ac", "\U0001F600"];

    private static readonly Gen<string> Level = Gen.OneOf(TopicCharacters).Array[0, 4].Select(string.Concat);

    private static readonly Gen<string> ValidTopic = Level.Array[1, 6]
        .Where(levels => !levels.Any(level => level is "." or ".."))
        .Select(levels => string.Join('/', levels))
        .Where(topic => IotTopics.PublishTopicError(topic, retain: false) is null);

    [Fact]
    public void A_valid_topic_encoded_any_way_is_decoded_exactly_once()
    {
        Gen.Select(ValidTopic, Gen.Int).Sample((topic, seed) =>
        {
            var encoded = Encode(topic, new Random(seed));

            var publish = HttpDataPlane.Match("POST", $"/topics/{encoded}?qos=1");
            Assert.True(publish.IsOperation, $"{encoded}: {publish.Reason}");
            Assert.Equal(topic, publish.Topic);
            Assert.Equal("topic/" + topic, publish.Permissions[0].Resource);

            var retained = HttpDataPlane.Match("GET", "/retainedMessage/" + encoded);
            Assert.Equal(topic, retained.Topic);
        }, writeLine: output.WriteLine, iter: 20_000, print: input => Show(input.Item1));
    }

    /// <summary>
    /// What a client may send for <paramref name="topic"/>: unreserved and sub-delimiter characters raw
    /// or escaped (either hex case), everything else escaped as UTF-8; a '/' raw only where it leaves no
    /// empty path segment, else <c>%2F</c>.
    /// </summary>
    private static string Encode(string topic, Random random)
    {
        var sb = new StringBuilder();
        var levels = topic.Split('/');
        for (var k = 0; k < levels.Length; k++)
        {
            if (k > 0)
            {
                var segmentSoFar = sb.Length - (sb.ToString().LastIndexOf('/') + 1);
                sb.Append(segmentSoFar > 0 && levels[k].Length > 0 && random.Next(2) == 0 ? "/" : Escape('/', random));
            }

            foreach (var b in Encoding.UTF8.GetBytes(levels[k]))
            {
                var c = (char)b;
                var safe = char.IsAsciiLetterOrDigit(c) || "-._~!$&'()*,;=:@".Contains(c, StringComparison.Ordinal);
                sb.Append(safe && random.Next(3) > 0 ? c.ToString() : Escape(b, random));
            }
        }

        return sb.ToString();
    }

    private static string Escape(int b, Random random)
    {
        var hex = b.ToString("X2", CultureInfo.InvariantCulture);
        return "%" + (random.Next(2) == 0 ? hex : hex.ToLowerInvariant());
    }

    private static string Show(string text)
    {
        var sb = new StringBuilder("«");
        foreach (var c in text.Length > 300 ? text[..300] : text)
        {
            sb.Append(c is >= ' ' and <= '~' ? c.ToString() : $"\\u{{{(int)c:X4}}}");
        }

        return sb.Append('»').ToString();
    }
}
