using ExtAuthz.Envoy.DataPlane;

namespace ExtAuthz.Envoy.Tests.DataPlane;

/// <summary>
/// Every AWS IoT data-plane route: the operation, the permissions AWS checks (action and resource
/// relative to <c>arn:aws:iot:{region}:{account}:</c>) and the parameters; and every refusal, with its
/// status and reason.
/// </summary>
public sealed class HttpDataPlaneTests
{
    private const string NotAnOperation = "not an AWS IoT data-plane operation";

    public static TheoryData<string, string, string, string> Routes => new()
    {
        // Publish: the topic is the rest of the path, percent-decoded once; retain adds RetainPublish.
        { "POST", "/topics/a/b", "Publish", "iot:Publish topic/a/b" },
        { "POST", "/topics/a/b?qos=1", "Publish", "iot:Publish topic/a/b" },
        { "POST", "/topics/a/b?retain=true", "Publish", "iot:Publish topic/a/b, iot:RetainPublish topic/a/b" },
        { "POST", "/topics/a/b?qos=1&retain=false", "Publish", "iot:Publish topic/a/b" },
        { "POST", "/topics/a%2Fb", "Publish", "iot:Publish topic/a/b" },
        { "POST", "/topics/a%2fb", "Publish", "iot:Publish topic/a/b" },
        { "POST", "/topics/a%252Fb", "Publish", "iot:Publish topic/a%2Fb" },
        { "POST", "/topics/a%2F%2Fb", "Publish", "iot:Publish topic/a//b" },
        { "POST", "/topics/%2Fa", "Publish", "iot:Publish topic//a" },
        { "POST", "/topics/a%2F", "Publish", "iot:Publish topic/a/" },
        { "POST", "/topics/caf%C3%A9/%F0%9F%98%80", "Publish", "iot:Publish topic/caf\u00e9/\U0001F600" },
        { "POST", "/topics/a%20b", "Publish", "iot:Publish topic/a b" },
        { "POST", "/topics/a*b/c?d", "Publish", "iot:Publish topic/a*b/c" },
        { "POST", "/topics/a..b/.c/c./...", "Publish", "iot:Publish topic/a..b/.c/c./..." },
        { "POST", "/topics/a-b_c~d!$&'()*,;=:@", "Publish", "iot:Publish topic/a-b_c~d!$&'()*,;=:@" },
        { "POST", "/topics/$aws/things/t1/shadow/update", "Publish", "iot:Publish topic/$aws/things/t1/shadow/update" },
        { "POST", "/topics/%24aws/rules/MyRule/a/b", "Publish", "iot:Publish topic/$aws/rules/MyRule/a/b" },
        { "POST", "/topics/a?contentType=application%2Fjson&messageExpiry=60&responseTopic=r%2Fs&correlationData=x&payloadFormatIndicator=UTF8_DATA&userProperties=e30%3D", "Publish", "iot:Publish topic/a" },
        { "POST", "/topics/a?X-Amz-Date=20240101T000000Z&X-Amz-Signature=abc", "Publish", "iot:Publish topic/a" },
        { "POST", "/topics/a?", "Publish", "iot:Publish topic/a" },
        { "POST", "/topics/a?&&qos=1&", "Publish", "iot:Publish topic/a" },
        { "POST", "/topics/a?QOS=7&Retain=maybe", "Publish", "iot:Publish topic/a" },

        // Retained messages.
        { "GET", "/retainedMessage/a/b", "GetRetainedMessage", "iot:GetRetainedMessage topic/a/b" },
        { "GET", "/retainedMessage/a%2Fb%20c", "GetRetainedMessage", "iot:GetRetainedMessage topic/a/b c" },
        { "GET", "/retainedMessage", "ListRetainedMessages", "iot:ListRetainedMessages *" },
        { "GET", "/retainedMessage?maxResults=10&nextToken=abc%3D%3D", "ListRetainedMessages", "iot:ListRetainedMessages *" },

        // Shadows: classic on thing/{thing}, named on thing/{thing}/{shadow}.
        { "GET", "/things/t1/shadow", "GetThingShadow", "iot:GetThingShadow thing/t1" },
        { "POST", "/things/t1/shadow", "UpdateThingShadow", "iot:UpdateThingShadow thing/t1" },
        { "DELETE", "/things/t1/shadow", "DeleteThingShadow", "iot:DeleteThingShadow thing/t1" },
        { "GET", "/things/t1/shadow?name=s1", "GetThingShadow", "iot:GetThingShadow thing/t1/s1" },
        { "POST", "/things/t1/shadow?name=s1", "UpdateThingShadow", "iot:UpdateThingShadow thing/t1/s1" },
        { "DELETE", "/things/t1/shadow?name=s1", "DeleteThingShadow", "iot:DeleteThingShadow thing/t1/s1" },
        { "GET", "/things/t1/shadow?name=%24package", "GetThingShadow", "iot:GetThingShadow thing/t1/$package" },
        { "GET", "/things/t1/shadow?nam%65=s1&other=x", "GetThingShadow", "iot:GetThingShadow thing/t1/s1" },
        { "GET", "/things/my%3AThing_1-x/shadow", "GetThingShadow", "iot:GetThingShadow thing/my:Thing_1-x" },
        { "GET", "/api/things/shadow/ListNamedShadowsForThing/t1", "ListNamedShadowsForThing", "iot:ListNamedShadowsForThing thing/t1" },
        { "GET", "/api/things/shadow/ListNamedShadowsForThing/t1?nextToken=x&pageSize=5", "ListNamedShadowsForThing", "iot:ListNamedShadowsForThing thing/t1" },

        // Jobs (device HTTPS API): iotjobsdata actions on thing/{thing}.
        { "GET", "/things/t1/jobs", "GetPendingJobExecutions", "iotjobsdata:GetPendingJobExecutions thing/t1" },
        { "GET", "/things/t1/jobs/job-1", "DescribeJobExecution", "iotjobsdata:DescribeJobExecution thing/t1" },
        { "GET", "/things/t1/jobs/job-1?executionNumber=2&includeJobDocument=false&namespaceId=ns", "DescribeJobExecution", "iotjobsdata:DescribeJobExecution thing/t1" },
        { "GET", "/things/t1/jobs/$next", "DescribeJobExecution", "iotjobsdata:DescribeJobExecution thing/t1" },
        { "GET", "/things/t1/jobs/%24next", "DescribeJobExecution", "iotjobsdata:DescribeJobExecution thing/t1" },
        { "PUT", "/things/t1/jobs/$next", "StartNextPendingJobExecution", "iotjobsdata:StartNextPendingJobExecution thing/t1" },
        { "PUT", "/things/t1/jobs/%24next", "StartNextPendingJobExecution", "iotjobsdata:StartNextPendingJobExecution thing/t1" },
        { "POST", "/things/t1/jobs/job_1", "UpdateJobExecution", "iotjobsdata:UpdateJobExecution thing/t1" },

        // MQTT over WebSocket: identity only; the query (SigV4 presigned, custom authorizer) is the caller's.
        { "GET", "/mqtt", "WebSocketUpgrade", "" },
        { "GET", "/mqtt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20240101%2Fus-east-1%2Fiotdevicegateway%2Faws4_request", "WebSocketUpgrade", "" },

        // DeleteConnection.
        { "DELETE", "/connections/client-1", "DeleteConnection", "iot:DeleteConnection client/client-1" },
        { "DELETE", "/connections/a%2Fb%20c?cleanSession=true&preventWillMessage=false", "DeleteConnection", "iot:DeleteConnection client/a/b c" },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public void Each_route_names_its_operation_and_permissions(string method, string path, string operation, string permissions)
    {
        var route = Operation(method, path);

        Assert.Equal(operation, route.Operation);
        Assert.Equal(permissions, string.Join(", ", route.Permissions.Select(p => $"{p.Action} {p.Resource}")));
        Assert.Equal(0, route.HttpStatus);
        Assert.Null(route.Reason);
    }

    [Theory]
    [InlineData("/topics/a/b", "a/b", 0, false)]
    [InlineData("/topics/a/b?qos=1", "a/b", 1, false)]
    [InlineData("/topics/a/b?qos=0&retain=true", "a/b", 0, true)]
    [InlineData("/topics/a?retain=false&qos=1", "a", 1, false)]
    [InlineData("/topics/a?q%6Fs=%31&r%65tain=tru%65", "a", 1, true)]
    [InlineData("/topics/a?QOS=1&Retain=true", "a", 0, false)]
    public void Publish_reads_the_topic_qos_and_retain(string path, string topic, int qos, bool retain)
    {
        var route = Operation("POST", path);

        Assert.Equal(topic, route.Topic);
        Assert.Equal(qos, route.Qos);
        Assert.Equal(retain, route.Retain);
        Assert.Null(route.ThingName);
    }

    [Fact]
    public void Operations_carry_the_parameters_they_name()
    {
        Assert.Equal("a b", Operation("GET", "/retainedMessage/a%20b").Topic);

        var classic = Operation("POST", "/things/t1/shadow");
        Assert.Equal(("t1", (string?)null), (classic.ThingName, classic.ShadowName));
        var named = Operation("DELETE", "/things/t1/shadow?name=s1");
        Assert.Equal(("t1", "s1"), (named.ThingName, named.ShadowName));
        Assert.Equal("t1", Operation("GET", "/api/things/shadow/ListNamedShadowsForThing/t1").ThingName);

        var pending = Operation("GET", "/things/t1/jobs");
        Assert.Equal(("t1", (string?)null), (pending.ThingName, pending.JobId));
        Assert.Equal("job-1", Operation("GET", "/things/t1/jobs/job-1").JobId);
        Assert.Equal("$next", Operation("GET", "/things/t1/jobs/%24next").JobId);
        Assert.Equal("job_1", Operation("POST", "/things/t1/jobs/job_1").JobId);
        var startNext = Operation("PUT", "/things/t1/jobs/$next");
        Assert.Equal(("t1", (string?)null), (startNext.ThingName, startNext.JobId));

        Assert.Equal("a/b c", Operation("DELETE", "/connections/a%2Fb%20c").ClientId);

        var upgrade = Operation("GET", "/mqtt");
        Assert.Empty(upgrade.Permissions);
        Assert.Null(upgrade.Topic);
    }

    public static TheoryData<string, string, int, string> Refusals => new()
    {
        // The raw path: printable ASCII, whole escapes, a leading '/', no empty or dot segments.
        { "GET", "/things/t 1/shadow", 400, "U+0020 at offset 9 may not appear in a URL unencoded; percent-encode it" },
        { "POST", "/topics/caf\u00e9", 400, "U+00E9 at offset 11 may not appear in a URL unencoded; percent-encode it" },
        { "POST", "/topics/a\tb", 400, "U+0009 at offset 9 may not appear in a URL unencoded; percent-encode it" },
        { "POST", "/topics/a\u007f", 400, "U+007F at offset 9 may not appear in a URL unencoded; percent-encode it" },
        { "POST", "/topics/a?x=\u00e9", 400, "U+00E9 at offset 12 may not appear in a URL unencoded; percent-encode it" },
        { "POST", "/topics/%G1", 400, "bad percent-encoding at offset 8: '%' must be followed by two hexadecimal digits" },
        { "POST", "/topics/a%4", 400, "bad percent-encoding at offset 9: '%' must be followed by two hexadecimal digits" },
        { "POST", "/topics/a%", 400, "bad percent-encoding at offset 9: '%' must be followed by two hexadecimal digits" },
        { "POST", "/topics/a?qos=%", 400, "bad percent-encoding at offset 14: '%' must be followed by two hexadecimal digits" },
        { "POST", "/topics/a?x=%zz", 400, "bad percent-encoding at offset 12: '%' must be followed by two hexadecimal digits" },
        { "POST", "topics/a", 400, "the path must begin with '/'" },
        { "POST", "", 400, "the path must begin with '/'" },
        { "POST", "?qos=1", 400, "the path must begin with '/'" },
        { "POST", "*", 400, "the path must begin with '/'" },
        { "POST", "/topics/a//b", 400, "the path has an empty segment ('//') at offset 10; AWS IoT's data-plane paths have none (encode an empty topic level as %2F)" },
        { "POST", "//topics/a", 400, "the path has an empty segment ('//') at offset 1; AWS IoT's data-plane paths have none (encode an empty topic level as %2F)" },
        { "POST", "/topics/a/", 400, "the path ends with '/'; AWS IoT's data-plane paths have no trailing slash" },
        { "POST", "/topics/", 400, "the path ends with '/'; AWS IoT's data-plane paths have no trailing slash" },
        { "GET", "/things/t1/shadow/?name=s", 400, "the path ends with '/'; AWS IoT's data-plane paths have no trailing slash" },
        { "GET", "/mqtt/", 400, "the path ends with '/'; AWS IoT's data-plane paths have no trailing slash" },
        { "POST", "/topics/a/../b", 400, "the path has a '.' or '..' segment at offset 10; dot segments are refused as path traversal" },
        { "POST", "/topics/a/./b", 400, "the path has a '.' or '..' segment at offset 10; dot segments are refused as path traversal" },
        { "POST", "/topics/a/%2e%2E", 400, "the path has a '.' or '..' segment at offset 10; dot segments are refused as path traversal" },
        { "POST", "/topics/a/.%2e/b", 400, "the path has a '.' or '..' segment at offset 10; dot segments are refused as path traversal" },
        { "GET", "/things/../topics/a", 400, "the path has a '.' or '..' segment at offset 8; dot segments are refused as path traversal" },
        { "POST", "/topics/a%2F..%2Fb", 400, "the topic has a '.' or '..' level at offset 2; over HTTP such a level reads as path traversal, so it is refused" },
        { "POST", "/topics/.%2Fa", 400, "the topic has a '.' or '..' level at offset 0; over HTTP such a level reads as path traversal, so it is refused" },
        { "GET", "/retainedMessage/a%2F.", 400, "the topic has a '.' or '..' level at offset 2; over HTTP such a level reads as path traversal, so it is refused" },

        // Decoded values: strict UTF-8, with the byte and the path offset of the bad sequence.
        { "POST", "/topics/%C3", 400, "the topic is not valid UTF-8 after percent-decoding: byte 0 of the decoded topic (offset 8 in the path) begins an invalid sequence" },
        { "POST", "/topics/ab%C3%28", 400, "the topic is not valid UTF-8 after percent-decoding: byte 2 of the decoded topic (offset 10 in the path) begins an invalid sequence" },
        { "POST", "/topics/a%ED%A0%80", 400, "the topic is not valid UTF-8 after percent-decoding: byte 1 of the decoded topic (offset 9 in the path) begins an invalid sequence" },
        { "POST", "/topics/%C0%AF", 400, "the topic is not valid UTF-8 after percent-decoding: byte 0 of the decoded topic (offset 8 in the path) begins an invalid sequence" },
        { "POST", "/topics/x/%E2%82%AC%FF", 400, "the topic is not valid UTF-8 after percent-decoding: byte 5 of the decoded topic (offset 19 in the path) begins an invalid sequence" },
        { "GET", "/things/t1/shadow?name=%FF", 400, "the shadow name is not valid UTF-8 after percent-decoding: byte 0 of the decoded shadow name (offset 23 in the path) begins an invalid sequence" },
        { "DELETE", "/connections/%80", 400, "the client ID is not valid UTF-8 after percent-decoding: byte 0 of the decoded client ID (offset 13 in the path) begins an invalid sequence" },

        // Topics: AWS IoT's topic name rules, and the reserved-topic rules for publishing.
        { "POST", "/topics/a/b+", 400, "topic: a topic name must not contain the wildcard '+' (offset 3); wildcards belong only in subscription filters" },
        { "POST", "/topics/a/%23", 400, "topic: a topic name must not contain the wildcard '#' (offset 2); wildcards belong only in subscription filters" },
        { "POST", "/topics/a%00b", 400, "topic: a topic name must not contain U+0000 (offset 1)" },
        { "POST", "/topics/1/2/3/4/5/6/7/8/9", 400, "topic: the topic name has 9 levels; AWS IoT allows at most 8 (7 '/')" },
        { "POST", "/topics/" + new string('x', 257), 400, "topic: the topic name is 257 bytes of UTF-8; AWS IoT allows at most 256" },
        { "POST", "/topics/$aws/things/t1/shadow/update?retain=true", 400, "topic: a message published to a reserved topic ('$aws/...') cannot be retained; AWS IoT refuses the RETAIN flag there" },
        { "POST", "/topics/$SYS/broker", 400, "topic: topics beginning with '$' are reserved by AWS IoT, which defines only '$aws/...' topics" },
        { "GET", "/retainedMessage/a/+", 400, "topic: a topic name must not contain the wildcard '+' (offset 2); wildcards belong only in subscription filters" },

        // Publish's qos and retain.
        { "POST", "/topics/a?qos=2", 400, "qos must be 0 or 1" },
        { "POST", "/topics/a?qos=", 400, "qos must be 0 or 1" },
        { "POST", "/topics/a?qos", 400, "qos must be 0 or 1" },
        { "POST", "/topics/a?qos=01", 400, "qos must be 0 or 1" },
        { "POST", "/topics/a?qos=1?x", 400, "qos must be 0 or 1" },
        { "POST", "/topics/a?qos=1&qos=1", 400, "the query parameter 'qos' appears more than once" },
        { "POST", "/topics/a?qos=1&q%6fs=0", 400, "the query parameter 'qos' appears more than once" },
        { "POST", "/topics/a?retain=yes", 400, "retain must be true or false" },
        { "POST", "/topics/a?retain=TRUE", 400, "retain must be true or false" },
        { "POST", "/topics/a?retain", 400, "retain must be true or false" },
        { "POST", "/topics/a?retain=true&retain=false", 400, "the query parameter 'retain' appears more than once" },

        // Names: thing [a-zA-Z0-9:_-]{1,128}, shadow [$a-zA-Z0-9:_-]{1,64}, job [a-zA-Z0-9_-]{1,64}.
        { "GET", "/things/bad!name/shadow", 400, "a thing name may hold only a-z A-Z 0-9 : _ -; '!' at offset 3 is not allowed" },
        { "GET", "/things/a%2Fb/shadow", 400, "a thing name may hold only a-z A-Z 0-9 : _ -; '/' at offset 1 is not allowed" },
        { "GET", "/things/a%20b/jobs", 400, "a thing name may hold only a-z A-Z 0-9 : _ -; U+0020 at offset 1 is not allowed" },
        { "GET", "/things/" + new string('t', 129) + "/shadow", 400, "a thing name must be 1 to 128 characters long, not 129" },
        { "GET", "/api/things/shadow/ListNamedShadowsForThing/t.1", 400, "a thing name may hold only a-z A-Z 0-9 : _ -; '.' at offset 1 is not allowed" },
        { "GET", "/things/t1/shadow?name=", 400, "a shadow name must be 1 to 64 characters long, not 0" },
        { "GET", "/things/t1/shadow?name", 400, "a shadow name must be 1 to 64 characters long, not 0" },
        { "GET", "/things/t1/shadow?name=" + new string('s', 65), 400, "a shadow name must be 1 to 64 characters long, not 65" },
        { "GET", "/things/t1/shadow?name=a.b", 400, "a shadow name may hold only $ a-z A-Z 0-9 : _ -; '.' at offset 1 is not allowed" },
        { "GET", "/things/t1/shadow?name=a&name=b", 400, "the query parameter 'name' appears more than once" },
        { "GET", "/things/t1/jobs/job.1", 400, "a job ID may hold only a-z A-Z 0-9 _ -; '.' at offset 3 is not allowed" },
        { "POST", "/things/t1/jobs/a:b", 400, "a job ID may hold only a-z A-Z 0-9 _ -; ':' at offset 1 is not allowed" },
        { "GET", "/things/t1/jobs/$nexT", 400, "a job ID may hold only a-z A-Z 0-9 _ -; '$' at offset 0 is not allowed" },
        { "GET", "/things/t1/jobs/" + new string('j', 65), 400, "a job ID must be 1 to 64 characters long, not 65" },
        { "DELETE", "/connections/%24c", 400, "a client ID must not begin with '$'" },
        { "DELETE", "/connections/a%00", 400, "a client ID must not contain U+0000" },
        { "DELETE", "/connections/" + new string('c', 129), 400, "the client ID is 129 bytes of UTF-8; AWS IoT allows at most 128" },

        // A known path with another method: the allowed methods, before any parameter is read.
        { "GET", "/topics/a", 405, "method not allowed: /topics/{topic} allows POST" },
        { "post", "/topics/a", 405, "method not allowed: /topics/{topic} allows POST" },
        { "PUT", "/things/t1/shadow", 405, "method not allowed: /things/{thingName}/shadow allows DELETE, GET, POST" },
        { "PATCH", "/things/bad!/shadow?name=%", 400, "bad percent-encoding at offset 25: '%' must be followed by two hexadecimal digits" },
        { "PATCH", "/things/bad!/shadow?name=a.b", 405, "method not allowed: /things/{thingName}/shadow allows DELETE, GET, POST" },
        { "POST", "/retainedMessage", 405, "method not allowed: /retainedMessage allows GET" },
        { "DELETE", "/retainedMessage/a", 405, "method not allowed: /retainedMessage/{topic} allows GET" },
        { "POST", "/things/t1/jobs", 405, "method not allowed: /things/{thingName}/jobs allows GET" },
        { "POST", "/things/t1/jobs/$next", 405, "method not allowed: /things/{thingName}/jobs/$next allows GET, PUT" },
        { "DELETE", "/things/t1/jobs/%24next", 405, "method not allowed: /things/{thingName}/jobs/$next allows GET, PUT" },
        { "PUT", "/things/t1/jobs/job-1", 405, "method not allowed: /things/{thingName}/jobs/{jobId} allows GET, POST" },
        { "DELETE", "/things/t1/jobs/job-1", 405, "method not allowed: /things/{thingName}/jobs/{jobId} allows GET, POST" },
        { "POST", "/api/things/shadow/ListNamedShadowsForThing/t1", 405, "method not allowed: /api/things/shadow/ListNamedShadowsForThing/{thingName} allows GET" },
        { "POST", "/mqtt", 405, "method not allowed: /mqtt allows GET" },
        { "GET", "/connections/c1", 405, "method not allowed: /connections/{clientId} allows DELETE" },

        // No such operation.
        { "GET", "/", 404, NotAnOperation },
        { "GET", "/?qos=1", 404, NotAnOperation },
        { "GET", "/foo", 404, NotAnOperation },
        { "POST", "/topics", 404, NotAnOperation },
        { "POST", "/Topics/a", 404, NotAnOperation },
        { "POST", "/%74opics/a", 404, NotAnOperation },
        { "GET", "/things/t1", 404, NotAnOperation },
        { "GET", "/things/t1/shadow/x", 404, NotAnOperation },
        { "GET", "/things/t1/jobs/j/x", 404, NotAnOperation },
        { "GET", "/things/t1/other", 404, NotAnOperation },
        { "GET", "/things/t1/other/x", 404, NotAnOperation },
        { "GET", "/things/t1/shadow/name/s1/x", 404, NotAnOperation },
        { "GET", "/api/things/shadow/ListNamedShadowsForThing", 404, NotAnOperation },
        { "GET", "/api/things/shadow/ListNamedShadowsForThing/t1/x", 404, NotAnOperation },
        { "GET", "/api/things/shadow/listNamedShadowsForThing/t1", 404, NotAnOperation },
        { "GET", "/mqtt/x", 404, NotAnOperation },
        { "GET", "/connections", 404, NotAnOperation },
        { "POST", "/connections/c1/messages?topic=a", 404, "SendDirectMessage is an AWS IoT data-plane operation that ExtAuthz does not support" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Each_refusal_has_its_status_and_reason(string method, string path, int status, string reason)
    {
        var route = HttpDataPlane.Match(method, path);

        Assert.False(route.IsOperation, $"{method} {path} matched {route.Operation}");
        Assert.Equal((status, reason), (route.HttpStatus, route.Reason));
        Assert.Empty(route.Permissions);
        Assert.Null(route.Topic);
    }

    [Fact]
    public void A_default_route_is_an_empty_refusal()
    {
        var route = default(DataPlaneRoute);

        Assert.False(route.IsOperation);
        Assert.Empty(route.Permissions);
    }

    [Fact]
    public void Null_arguments_are_programming_errors()
    {
        Assert.Throws<ArgumentNullException>(() => HttpDataPlane.Match(null!, "/mqtt"));
        Assert.Throws<ArgumentNullException>(() => HttpDataPlane.Match("GET", null!));
    }

    [Fact]
    public void Long_paths_decode_through_a_pooled_buffer()
    {
        var level = string.Concat(Enumerable.Repeat("%C3%A9", 40));
        var topic = string.Join("%2F", Enumerable.Repeat(level, 3));

        var route = Operation("POST", "/topics/" + topic);

        Assert.Equal(string.Join('/', Enumerable.Repeat(new string('\u00e9', 40), 3)), route.Topic);
        Assert.Equal(
            "the topic is not valid UTF-8 after percent-decoding: byte 242 of the decoded topic (offset 734 in the path) begins an invalid sequence",
            HttpDataPlane.Match("POST", "/topics/" + topic + "%FF").Reason);
    }

    private static DataPlaneRoute Operation(string method, string path)
    {
        var route = HttpDataPlane.Match(method, path);
        Assert.True(route.IsOperation, $"{method} {path}: {route.HttpStatus} {route.Reason}");
        return route;
    }
}
