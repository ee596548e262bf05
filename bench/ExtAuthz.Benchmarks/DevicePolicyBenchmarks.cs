using BenchmarkDotNet.Attributes;
using ExtAuthz.Policy;

namespace ExtAuthz.Benchmarks;

/// <summary>
/// A typical AWS IoT device policy, shaped like the developer guide's examples: five statements,
/// policy variables <c>${iot:ClientId}</c> and <c>${iot:Connection.Thing.ThingName}</c>, and one
/// condition (<c>Bool iot:Connection.Thing.IsAttached</c> on Connect). Target: Decide ≤ 1 µs median, 0 B allocated.
/// </summary>
[Config(typeof(MicroConfig))]
public class DevicePolicyBenchmarks
{
    public const string Json = """
        {
          "Version": "2012-10-17",
          "Statement": [
            {
              "Sid": "Connect",
              "Effect": "Allow",
              "Action": "iot:Connect",
              "Resource": "arn:aws:iot:us-east-1:123456789012:client/${iot:ClientId}",
              "Condition": { "Bool": { "iot:Connection.Thing.IsAttached": "true" } }
            },
            {
              "Sid": "PublishOwnTopics",
              "Effect": "Allow",
              "Action": "iot:Publish",
              "Resource": [
                "arn:aws:iot:us-east-1:123456789012:topic/things/${iot:Connection.Thing.ThingName}/telemetry",
                "arn:aws:iot:us-east-1:123456789012:topic/things/${iot:Connection.Thing.ThingName}/events/*",
                "arn:aws:iot:us-east-1:123456789012:topic/$aws/things/${iot:Connection.Thing.ThingName}/shadow/*"
              ]
            },
            {
              "Sid": "SubscribeOwnFilters",
              "Effect": "Allow",
              "Action": "iot:Subscribe",
              "Resource": [
                "arn:aws:iot:us-east-1:123456789012:topicfilter/things/${iot:Connection.Thing.ThingName}/commands/*",
                "arn:aws:iot:us-east-1:123456789012:topicfilter/$aws/things/${iot:Connection.Thing.ThingName}/shadow/*"
              ]
            },
            {
              "Sid": "ReceiveOwnTopics",
              "Effect": "Allow",
              "Action": "iot:Receive",
              "Resource": [
                "arn:aws:iot:us-east-1:123456789012:topic/things/${iot:Connection.Thing.ThingName}/commands/*",
                "arn:aws:iot:us-east-1:123456789012:topic/$aws/things/${iot:Connection.Thing.ThingName}/shadow/*"
              ]
            },
            {
              "Sid": "OwnShadow",
              "Effect": "Allow",
              "Action": ["iot:GetThingShadow", "iot:UpdateThingShadow", "iot:DeleteThingShadow"],
              "Resource": "arn:aws:iot:us-east-1:123456789012:thing/${iot:Connection.Thing.ThingName}"
            }
          ]
        }
        """;

    private PolicySet set = null!;
    private AuthorizationRequest allowedPublish;
    private AuthorizationRequest deniedPublish;
    private AuthorizationRequest connect;

    /// <summary>The request context of a connected thing, as the MQTT front end would build it.</summary>
    public static RequestContext DeviceContext(string thing) => new RequestContext()
        .Set("iot:ClientId", thing)
        .Set("iot:Connection.Thing.ThingName", thing)
        .Set("iot:Connection.Thing.ThingTypeName", "temperature-sensor")
        .Set("iot:Connection.Thing.IsAttached", "true")
        .Set("iot:ConnectAttributes", ["PersistentConnect"]);

    [GlobalSetup]
    public void Setup()
    {
        set = PolicySet.Create(PolicyParser.Parse("device-policy", Json));
        var context = DeviceContext("sensor-0042");
        allowedPublish = new AuthorizationRequest("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/things/sensor-0042/telemetry", context);
        deniedPublish = new AuthorizationRequest("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/things/sensor-0043/telemetry", context);
        connect = new AuthorizationRequest("iot:Connect", "arn:aws:iot:us-east-1:123456789012:client/sensor-0042", context);
        Check(PolicyEvaluator.Decide(set, allowedPublish), DecisionKind.Allowed, nameof(allowedPublish));
        Check(PolicyEvaluator.Decide(set, deniedPublish), DecisionKind.ImplicitDeny, nameof(deniedPublish));
        Check(PolicyEvaluator.Decide(set, connect), DecisionKind.Allowed, nameof(connect));
    }

    [Benchmark(Baseline = true)]
    public Decision DecideAllowedPublish() => PolicyEvaluator.Decide(set, allowedPublish);

    [Benchmark]
    public Decision DecideDeniedPublish() => PolicyEvaluator.Decide(set, deniedPublish);

    [Benchmark]
    public Decision DecideConnect() => PolicyEvaluator.Decide(set, connect);

    /// <summary>Informational: the full TestAuthorization-style account (allocates its lists by design).</summary>
    [Benchmark]
    public Explanation ExplainAllowedPublish() => PolicyEvaluator.Explain(set, null, allowedPublish);

    internal static void Check(Decision decision, DecisionKind expected, string what)
    {
        if (decision.Kind != expected)
        {
            throw new InvalidOperationException($"benchmark setup: {what} decided {decision.Kind}, expected {expected}");
        }
    }
}
