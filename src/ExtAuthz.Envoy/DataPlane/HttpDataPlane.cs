using System.Text;
using ExtAuthz.Envoy.ControlPlane;
using ExtAuthz.Envoy.Routing;
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
/// percent-decoded exactly once and then strictly UTF-8-decoded. The control plane reads its paths by the
/// same rules with the same reader (<see cref="RequestPath"/>). No regular expressions: this runs on every
/// Check.
/// </remarks>
public static class HttpDataPlane
{
    private const string NotAnOperation = "not an AWS IoT data-plane operation";
    /// <summary>Segments located on the stack: the longest route has five; a topic needs only where its first begins.</summary>
    private const int Tracked = 6;

    /// <summary>Where an empty segment would be a topic's empty level, the client must encode the slash for hops to keep it.</summary>
    private const string EmptySegmentAdvice = " (encode an empty topic level as %2F)";

    private static readonly DataPlaneAccess[] ListRetainedMessagesPermissions = [new("iot:ListRetainedMessages", "*")];

    /// <summary><c>[$a-zA-Z0-9:_-]</c>, 1–64: shadowName (<c>$</c> for reserved shadows such as <c>$package</c>).</summary>
    private static readonly NameRule ShadowName = new("a shadow name", 1, 64, "$ a-z A-Z 0-9 : _ -", ShadowNameCharacter);

    /// <summary><c>[a-zA-Z0-9_-]</c>, 1–64: jobId.</summary>
    private static readonly NameRule JobId = new("a job ID", 1, 64, "a-z A-Z 0-9 _ -", JobIdCharacter);

    /// <summary>Matches one request; never throws for any method or path.</summary>
    public static DataPlaneRoute Match(string method, string rawPath)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(rawPath);

        Span<int> starts = stackalloc int[Tracked];
        Span<int> ends = stackalloc int[Tracked];
        if (RequestPath.Read(rawPath, "data-plane", EmptySegmentAdvice, starts, ends, out var path) is { } malformed)
        {
            return Bad(malformed);
        }

        var count = path.Count;
        if (count == 0)
        {
            return Refuse(404, NotAnOperation);
        }

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

    private static DataPlaneRoute Publish(string method, in RequestPath path)
    {
        if (method != "POST")
        {
            return NotAllowed("/topics/{topic}", "POST");
        }

        if (Topic(path, out var topic) is { } badTopic)
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

    private static DataPlaneRoute RetainedMessage(string method, in RequestPath path)
    {
        if (path.Count == 1)
        {
            return method == "GET" ? DataPlaneRoute.For("ListRetainedMessages", ListRetainedMessagesPermissions) : NotAllowed("/retainedMessage", "GET");
        }

        if (method != "GET")
        {
            return NotAllowed("/retainedMessage/{topic}", "GET");
        }

        if (Topic(path, out var topic) is { } badTopic)
        {
            return badTopic;
        }

        if (IotTopics.TopicNameError(topic) is { } error)
        {
            return Bad("topic: " + error);
        }

        return DataPlaneRoute.For("GetRetainedMessage", [new("iot:GetRetainedMessage", "topic/" + topic)]).WithTopic(topic);
    }

    private static DataPlaneRoute Things(string method, in RequestPath path)
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

        if ((path.DecodeSegment(3, "job ID", out var jobId) ?? (next ? null : JobId.Error(jobId))) is { } badId)
        {
            return Bad(badId);
        }

        return method == "GET"
            ? ThingOperation(path, "DescribeJobExecution", "iotjobsdata:DescribeJobExecution", jobId: jobId)
            : ThingOperation(path, "UpdateJobExecution", "iotjobsdata:UpdateJobExecution", jobId: jobId);
    }

    private static DataPlaneRoute Shadow(string method, in RequestPath path)
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
                if ((path.Decode(nameStart, nameEnd, "shadow name", out var name) ?? ShadowName.Error(name)) is { } badName)
                {
                    return Bad(badName);
                }

                shadowName = name;
                break;
        }

        return ThingOperation(path, operation, action, shadowName);
    }

    private static DataPlaneRoute ListNamedShadows(string method, in RequestPath path) =>
        method == "GET"
            ? ThingOperation(path, "ListNamedShadowsForThing", "iot:ListNamedShadowsForThing", thingSegment: 4)
            : NotAllowed("/api/things/shadow/ListNamedShadowsForThing/{thingName}", "GET");

    /// <summary>An operation on <c>thing/{thingName}</c> (or <c>thing/{thingName}/{shadowName}</c>), the thing being segment <paramref name="thingSegment"/>.</summary>
    private static DataPlaneRoute ThingOperation(in RequestPath path, string operation, string action, string? shadowName = null, string? jobId = null, int thingSegment = 1)
    {
        if ((path.DecodeSegment(thingSegment, "thing name", out var thing) ?? NameRule.Thing.Error(thing)) is { } badThing)
        {
            return Bad(badThing);
        }

        var resource = shadowName is null ? "thing/" + thing : $"thing/{thing}/{shadowName}";
        return DataPlaneRoute.For(operation, [new(action, resource)]).WithThing(thing, shadowName, jobId);
    }

    private static DataPlaneRoute DeleteConnection(string method, in RequestPath path)
    {
        if (method != "DELETE")
        {
            return NotAllowed("/connections/{clientId}", "DELETE");
        }

        if (path.DecodeSegment(1, "client ID", out var clientId) is { } badId)
        {
            return Bad(badId);
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

    private static bool ShadowNameCharacter(char c) => char.IsAsciiLetterOrDigit(c) || c is '$' or ':' or '_' or '-';

    private static bool JobIdCharacter(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-';

    /// <summary>Segment 1 to the end of the path, decoded once: a topic whose levels may come raw or as <c>%2F</c>.</summary>
    private static DataPlaneRoute? Topic(in RequestPath path, out string topic)
    {
        if (path.Decode(path.Start(1), path.PathEnd, "topic", out topic) is { } bad)
        {
            return Bad(bad);
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
}
