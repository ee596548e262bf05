using System.Buffers;
using System.Text;
using System.Text.Unicode;
using ExtAuthz.Registry;

namespace ExtAuthz.Envoy.DataPlane;

/// <summary>
/// Maps an HTTPS request on the data plane (ports 443 and 8443) to the AWS IoT operation it is and the
/// IAM permissions AWS checks for it, from the method and Envoy's raw <c>:path</c> (query included, not
/// decoded). Every route, refusal rule and decision is listed in docs/data-plane.md.
/// </summary>
/// <remarks>
/// The path is read once, strictly, because what we authorize must be what the upstream serves: only
/// printable ASCII; well-formed <c>%XX</c> escapes; no empty segment (<c>//</c>, a trailing <c>/</c>) and
/// no <c>.</c> or <c>..</c> segment, encoded or not, since proxies and routers merge or resolve those
/// differently; route words (<c>topics</c>, <c>things</c>, …) spelled literally. Parameters are
/// percent-decoded exactly once and then strictly UTF-8-decoded. No regular expressions: this runs on
/// every Check.
/// </remarks>
public static class HttpDataPlane
{
    private const string NotAnOperation = "not an AWS IoT data-plane operation";
    /// <summary>Segments located on the stack: the longest route has five; a topic needs only where its first begins.</summary>
    private const int Tracked = 6;

    private static readonly DataPlaneAccess[] ListRetainedMessagesPermissions = [new("iot:ListRetainedMessages", "*")];

    /// <summary>Matches one request; never throws for any method or path.</summary>
    public static DataPlaneRoute Match(string method, string rawPath)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(rawPath);

        if (SyntaxError(rawPath) is { } syntax)
        {
            return Bad(syntax);
        }

        var queryAt = rawPath.IndexOf('?');
        var pathEnd = queryAt < 0 ? rawPath.Length : queryAt;
        var query = queryAt < 0 ? -1 : queryAt + 1;
        if (pathEnd == 0 || rawPath[0] != '/')
        {
            return Bad("the path must begin with '/'");
        }

        if (pathEnd == 1)
        {
            return Refuse(404, NotAnOperation);
        }

        Span<int> starts = stackalloc int[Tracked];
        Span<int> ends = stackalloc int[Tracked];
        var count = 0;
        for (var start = 1; ;)
        {
            var slash = rawPath.IndexOf('/', start, pathEnd - start);
            var end = slash < 0 ? pathEnd : slash;
            if (end == start)
            {
                return Bad(end == pathEnd
                    ? "the path ends with '/'; AWS IoT's data-plane paths have no trailing slash"
                    : $"the path has an empty segment ('//') at offset {start}; AWS IoT's data-plane paths have none (encode an empty topic level as %2F)");
            }

            if (IsDotSegment(rawPath.AsSpan(start, end - start)))
            {
                return Bad($"the path has a '.' or '..' segment at offset {start}; dot segments are refused as path traversal");
            }

            if (count < Tracked)
            {
                starts[count] = start;
                ends[count] = end;
            }

            count++;
            if (slash < 0)
            {
                break;
            }

            start = slash + 1;
        }

        var path = new Path(rawPath, starts, ends, count, pathEnd, query);
        return path.Segment(0) switch
        {
            "topics" when count > 1 => Publish(method, path),
            "retainedMessage" => RetainedMessage(method, path),
            "things" when count is 3 or 4 => Things(method, path),
            "api" when count == 5 && path.Segment(1) is "things" && path.Segment(2) is "shadow" && path.Segment(3) is "ListNamedShadowsForThing" =>
                ListNamedShadows(method, path),
            "mqtt" when count == 1 => method == "GET" ? DataPlaneRoute.For("WebSocketUpgrade", []) : NotAllowed("/mqtt", "GET"),
            "connections" when count == 2 => DeleteConnection(method, path),
            "connections" when count == 3 && path.Segment(2) is "messages" =>
                Refuse(404, "SendDirectMessage is an AWS IoT data-plane operation that ExtAuthz does not support"),
            _ => Refuse(404, NotAnOperation),
        };
    }

    // ---- Operations --------------------------------------------------------------------------------

    private static DataPlaneRoute Publish(string method, in Path path)
    {
        if (method != "POST")
        {
            return NotAllowed("/topics/{topic}", "POST");
        }

        if (path.Topic(out var topic) is { } badTopic)
        {
            return badTopic;
        }

        var qos = 0;
        switch (path.Parameter("qos", out var qosStart, out var qosEnd))
        {
            case > 1:
                return Duplicate("qos");
            case 1 when path.ValueIs(qosStart, qosEnd, "1"):
                qos = 1;
                break;
            case 1 when !path.ValueIs(qosStart, qosEnd, "0"):
                return Bad("qos must be 0 or 1");
        }

        var retain = false;
        switch (path.Parameter("retain", out var retainStart, out var retainEnd))
        {
            case > 1:
                return Duplicate("retain");
            case 1 when path.ValueIs(retainStart, retainEnd, "true"):
                retain = true;
                break;
            case 1 when !path.ValueIs(retainStart, retainEnd, "false"):
                return Bad("retain must be true or false");
        }

        if (IotTopics.PublishTopicError(topic, retain) is { } error)
        {
            return Bad("topic: " + error);
        }

        var resource = "topic/" + topic;
        DataPlaneAccess[] permissions = retain
            ? [new("iot:Publish", resource), new("iot:RetainPublish", resource)]
            : [new("iot:Publish", resource)];
        return DataPlaneRoute.For("Publish", permissions).WithTopic(topic, qos, retain);
    }

    private static DataPlaneRoute RetainedMessage(string method, in Path path)
    {
        if (path.Count == 1)
        {
            return method == "GET" ? DataPlaneRoute.For("ListRetainedMessages", ListRetainedMessagesPermissions) : NotAllowed("/retainedMessage", "GET");
        }

        if (method != "GET")
        {
            return NotAllowed("/retainedMessage/{topic}", "GET");
        }

        if (path.Topic(out var topic) is { } badTopic)
        {
            return badTopic;
        }

        if (IotTopics.TopicNameError(topic) is { } error)
        {
            return Bad("topic: " + error);
        }

        return DataPlaneRoute.For("GetRetainedMessage", [new("iot:GetRetainedMessage", "topic/" + topic)]).WithTopic(topic);
    }

    private static DataPlaneRoute Things(string method, in Path path)
    {
        var what = path.Segment(2);
        if (path.Count == 3 && what is "shadow")
        {
            return Shadow(method, path);
        }

        if (what is not "jobs")
        {
            return Refuse(404, NotAnOperation);
        }

        if (path.Count == 3)
        {
            return method == "GET" ? ThingOperation(path, "GetPendingJobExecutions", "iotjobsdata:GetPendingJobExecutions") : NotAllowed("/things/{thingName}/jobs", "GET");
        }

        var next = path.ValueIs(path.Start(3), path.End(3), "$next");
        switch (method)
        {
            case "PUT" when next:
                return ThingOperation(path, "StartNextPendingJobExecution", "iotjobsdata:StartNextPendingJobExecution");
            case "GET":
            case "POST" when !next:
                break;
            default:
                return next ? NotAllowed("/things/{thingName}/jobs/$next", "GET, PUT") : NotAllowed("/things/{thingName}/jobs/{jobId}", "GET, POST");
        }

        if (path.Decode(path.Start(3), path.End(3), "job ID", out var jobId) is { } badId)
        {
            return badId;
        }

        if (!next && NameError(jobId, 64, JobIdCharacter, "a job ID", "a-z A-Z 0-9 _ -") is { } error)
        {
            return Bad(error);
        }

        return method == "GET"
            ? ThingOperation(path, "DescribeJobExecution", "iotjobsdata:DescribeJobExecution", jobId: jobId)
            : ThingOperation(path, "UpdateJobExecution", "iotjobsdata:UpdateJobExecution", jobId: jobId);
    }

    private static DataPlaneRoute Shadow(string method, in Path path)
    {
        (string Operation, string Action)? named = method switch
        {
            "GET" => ("GetThingShadow", "iot:GetThingShadow"),
            "POST" => ("UpdateThingShadow", "iot:UpdateThingShadow"),
            "DELETE" => ("DeleteThingShadow", "iot:DeleteThingShadow"),
            _ => null,
        };
        if (named is not var (operation, action))
        {
            return NotAllowed("/things/{thingName}/shadow", "DELETE, GET, POST");
        }

        string? shadowName = null;
        switch (path.Parameter("name", out var nameStart, out var nameEnd))
        {
            case > 1:
                return Duplicate("name");
            case 1:
                if (path.Decode(nameStart, nameEnd, "shadow name", out var name) is { } badName)
                {
                    return badName;
                }

                if (NameError(name, 64, ShadowNameCharacter, "a shadow name", "$ a-z A-Z 0-9 : _ -") is { } error)
                {
                    return Bad(error);
                }

                shadowName = name;
                break;
        }

        return ThingOperation(path, operation, action, shadowName);
    }

    private static DataPlaneRoute ListNamedShadows(string method, in Path path) =>
        method == "GET"
            ? ThingOperation(path, "ListNamedShadowsForThing", "iot:ListNamedShadowsForThing", thingSegment: 4)
            : NotAllowed("/api/things/shadow/ListNamedShadowsForThing/{thingName}", "GET");

    /// <summary>An operation on <c>thing/{thingName}</c> (or <c>thing/{thingName}/{shadowName}</c>), the thing being segment <paramref name="thingSegment"/>.</summary>
    private static DataPlaneRoute ThingOperation(in Path path, string operation, string action, string? shadowName = null, string? jobId = null, int thingSegment = 1)
    {
        if (path.Decode(path.Start(thingSegment), path.End(thingSegment), "thing name", out var thing) is { } badThing)
        {
            return badThing;
        }

        if (NameError(thing, 128, ThingNameCharacter, "a thing name", "a-z A-Z 0-9 : _ -") is { } error)
        {
            return Bad(error);
        }

        var resource = shadowName is null ? "thing/" + thing : $"thing/{thing}/{shadowName}";
        return DataPlaneRoute.For(operation, [new(action, resource)]).WithThing(thing, shadowName, jobId);
    }

    private static DataPlaneRoute DeleteConnection(string method, in Path path)
    {
        if (method != "DELETE")
        {
            return NotAllowed("/connections/{clientId}", "DELETE");
        }

        if (path.Decode(path.Start(1), path.End(1), "client ID", out var clientId) is { } badId)
        {
            return badId;
        }

        if (clientId.StartsWith('$'))
        {
            return Bad("a client ID must not begin with '$'");
        }

        if (clientId.Contains('\0', StringComparison.Ordinal))
        {
            return Bad("a client ID must not contain U+0000");
        }

        var bytes = Encoding.UTF8.GetByteCount(clientId);
        return bytes > 128
            ? Bad($"the client ID is {bytes} bytes of UTF-8; AWS IoT allows at most 128")
            : DataPlaneRoute.For("DeleteConnection", [new("iot:DeleteConnection", "client/" + clientId)]).WithClient(clientId);
    }

    // ---- Refusals and names ------------------------------------------------------------------------

    private static DataPlaneRoute Refuse(int status, string reason) => DataPlaneRoute.Refuse(status, reason);

    private static DataPlaneRoute Bad(string reason) => DataPlaneRoute.Refuse(400, reason);

    private static DataPlaneRoute NotAllowed(string template, string methods) => DataPlaneRoute.Refuse(405, $"method not allowed: {template} allows {methods}");

    private static DataPlaneRoute Duplicate(string name) => Bad($"the query parameter '{name}' appears more than once");

    private static bool ThingNameCharacter(char c) => char.IsAsciiLetterOrDigit(c) || c is ':' or '_' or '-';

    private static bool ShadowNameCharacter(char c) => ThingNameCharacter(c) || c == '$';

    private static bool JobIdCharacter(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-';

    private static string? NameError(string name, int max, Func<char, bool> allowed, string what, string alphabet)
    {
        if (name.Length == 0 || name.Length > max)
        {
            return $"{what} must be 1 to {max} characters long, not {name.Length}";
        }

        for (var i = 0; i < name.Length; i++)
        {
            if (!allowed(name[i]))
            {
                return $"{what} may hold only {alphabet}; {Describe(name[i])} at offset {i} is not allowed";
            }
        }

        return null;
    }

    private static string Describe(char c) => c is > ' ' and < '\x7f' ? $"'{c}'" : $"U+{(int)c:X4}";

    /// <summary>A character that may not appear raw in a URL, or a malformed <c>%</c> escape; null when neither.</summary>
    private static string? SyntaxError(string rawPath)
    {
        for (var i = 0; i < rawPath.Length; i++)
        {
            var c = rawPath[i];
            if (c is <= ' ' or >= '\x7f')
            {
                return $"{Describe(c)} at offset {i} may not appear in a URL unencoded; percent-encode it";
            }

            if (c == '%' && (i + 2 >= rawPath.Length || !char.IsAsciiHexDigit(rawPath[i + 1]) || !char.IsAsciiHexDigit(rawPath[i + 2])))
            {
                return $"bad percent-encoding at offset {i}: '%' must be followed by two hexadecimal digits";
            }
        }

        return null;
    }

    /// <summary><c>.</c> or <c>..</c>, each dot raw or as <c>%2E</c>/<c>%2e</c>.</summary>
    private static bool IsDotSegment(ReadOnlySpan<char> segment)
    {
        var dots = 0;
        for (var i = 0; i < segment.Length; i++)
        {
            if (segment[i] == '.')
            {
                dots++;
            }
            else if (segment[i] == '%' && i + 2 < segment.Length && segment[i + 1] == '2' && (segment[i + 2] | 0x20) == 'e')
            {
                dots++;
                i += 2;
            }
            else
            {
                return false;
            }
        }

        return dots is 1 or 2;
    }

    /// <summary>
    /// The path's segments (the first <see cref="Tracked"/> located) and its query, all validated by
    /// <see cref="SyntaxError"/> already: every character printable ASCII, every <c>%</c> escape whole.
    /// </summary>
    private readonly ref struct Path(string raw, ReadOnlySpan<int> starts, ReadOnlySpan<int> ends, int count, int pathEnd, int query)
    {
        private readonly string raw = raw;
        private readonly ReadOnlySpan<int> starts = starts;
        private readonly ReadOnlySpan<int> ends = ends;
        private readonly int pathEnd = pathEnd;
        private readonly int query = query;

        public int Count { get; } = count;

        public int Start(int segment) => starts[segment];

        public int End(int segment) => ends[segment];

        public ReadOnlySpan<char> Segment(int segment) => raw.AsSpan(starts[segment], ends[segment] - starts[segment]);

        /// <summary>Segment 1 to the end of the path, decoded once: a topic whose levels may come raw or as <c>%2F</c>.</summary>
        public DataPlaneRoute? Topic(out string topic)
        {
            if (Decode(starts[1], pathEnd, "topic", out topic) is { } bad)
            {
                return bad;
            }

            var levelStart = 0;
            for (var i = 0; i <= topic.Length; i++)
            {
                if (i == topic.Length || topic[i] == '/')
                {
                    if (topic.AsSpan(levelStart, i - levelStart) is "." or "..")
                    {
                        return Bad($"the topic has a '.' or '..' level at offset {levelStart}; over HTTP such a level reads as path traversal, so it is refused");
                    }

                    levelStart = i + 1;
                }
            }

            return null;
        }

        /// <summary>How many times the query holds the parameter named <paramref name="name"/> (keys decoded once, compared exactly); the first one's value.</summary>
        public int Parameter(string name, out int valueStart, out int valueEnd)
        {
            valueStart = valueEnd = 0;
            var found = 0;
            for (var i = query; i >= 0 && i <= raw.Length;)
            {
                var amp = raw.IndexOf('&', i);
                var end = amp < 0 ? raw.Length : amp;
                var eq = raw.IndexOf('=', i, end - i);
                var keyEnd = eq < 0 ? end : eq;
                if (end > i && ValueIs(i, keyEnd, name) && found++ == 0)
                {
                    valueStart = eq < 0 ? end : eq + 1;
                    valueEnd = end;
                }

                if (amp < 0)
                {
                    break;
                }

                i = amp + 1;
            }

            return found;
        }

        /// <summary>Whether raw[start..end], decoded once, is exactly the ASCII text <paramref name="expected"/>; allocates nothing.</summary>
        public bool ValueIs(int start, int end, string expected)
        {
            var j = 0;
            for (var i = start; i < end; i++, j++)
            {
                var c = raw[i];
                if (c == '%')
                {
                    c = (char)((HexValue(raw[i + 1]) << 4) | HexValue(raw[i + 2]));
                    i += 2;
                }

                if (j == expected.Length || c != expected[j])
                {
                    return false;
                }
            }

            return j == expected.Length;
        }

        /// <summary>raw[start..end] percent-decoded once and strictly UTF-8-decoded; a 400 when the bytes are not UTF-8.</summary>
        public DataPlaneRoute? Decode(int start, int end, string what, out string value)
        {
            var text = raw.AsSpan(start, end - start);
            if (!text.Contains('%'))
            {
                value = text.ToString();
                return null;
            }

            byte[]? rented = null;
            var bytes = text.Length <= 512 ? stackalloc byte[text.Length] : (rented = ArrayPool<byte>.Shared.Rent(text.Length));
            try
            {
                var length = 0;
                for (var i = 0; i < text.Length; i++, length++)
                {
                    if (text[i] == '%')
                    {
                        bytes[length] = (byte)((HexValue(text[i + 1]) << 4) | HexValue(text[i + 2]));
                        i += 2;
                    }
                    else
                    {
                        bytes[length] = (byte)text[i];
                    }
                }

                var decoded = bytes[..length];
                if (Utf8.IsValid(decoded))
                {
                    value = Encoding.UTF8.GetString(decoded);
                    return null;
                }

                value = "";
                return Bad(InvalidUtf8(decoded, text, start, what));
            }
            finally
            {
                if (rented is not null)
                {
                    ArrayPool<byte>.Shared.Return(rented);
                }
            }
        }

        /// <summary>Where decoding failed: the first bad byte's index in the decoded value and the offset of its escape in the path.</summary>
        private static string InvalidUtf8(ReadOnlySpan<byte> decoded, ReadOnlySpan<char> text, int start, string what)
        {
            Utf8.ToUtf16(decoded, new char[decoded.Length], out var good, out _, replaceInvalidSequences: false);
            var i = 0;
            for (var b = 0; b < good; b++)
            {
                i += text[i] == '%' ? 3 : 1;
            }

            return $"the {what} is not valid UTF-8 after percent-decoding: byte {good} of the decoded {what} (offset {start + i} in the path) begins an invalid sequence";
        }

        private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    }
}
