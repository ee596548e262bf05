using System.Text;
using CsCheck;
using Xunit.Abstractions;

namespace ExtAuthz.Policy.Tests.Properties;

/// <summary>
/// Consistency of the evaluator on random small policy sets and requests: Decide and Explain agree, an
/// explicit Deny wins, and removing Deny statements never turns an ALLOWED into a deny.
/// </summary>
public sealed class EvaluatorProperties(ITestOutputHelper output)
{
    private const long Iterations = 3_000;
    private const string Arn = "arn:aws:iot:us-east-1:123456789012:";

    private static readonly string[] ActionPool = ["iot:Publish", "iot:Subscribe", "iot:Receive", "iot:Connect", "iot:*", "iot:Pub*", "iot:?eceive", "*", "IOT:publish", "iot:Delete*"];

    private static readonly string[] ResourcePool =
    [
        "*", Arn + "topic/a/b", Arn + "topic/a/*", Arn + "topic/*", Arn + "topic/${iot:ClientId}", Arn + "client/${iot:ClientId}",
        Arn + "topicfilter/a/+", Arn + "topic/a/??", Arn + "client/c?", Arn + "topic/${iot:ClientId, 'dflt'}", Arn + "topic/${iot:Connection.Thing.ThingName}/*",
        "arn:aws:iot:eu-west-1:123456789012:topic/a/b", "arn:aws:iot:*:*:topic/a/b", "arn:aws:iot:us-east-?:123456789012:client/*",
    ];

    /// <summary>Conditions, each a distinct (operator, key) pair so that any subset is valid JSON without duplicate keys.</summary>
    private static readonly (string Operator, string Key, string Value)[] ConditionPool =
    [
        ("StringEquals", "iot:ClientId", "\"c1\""),
        ("StringLike", "iot:ClientId", "[\"c*\", \"x?\"]"),
        ("StringNotEquals", "iot:ClientId", "\"c1\""),
        ("StringEqualsIgnoreCase", "iot:ClientId", "\"C1\""),
        ("StringNotLike", "iot:ClientId", "\"${iot:Connection.Thing.ThingName}\""),
        ("StringEquals", "iot:Connection.Thing.ThingName", "\"${iot:ClientId}\""),
        ("StringEqualsIfExists", "iot:Connection.Thing.ThingName", "\"t1\""),
        ("ForAllValues:StringEquals", "iot:ConnectAttributes", "[]"),
        ("ForAnyValue:StringEquals", "iot:ConnectAttributes", "[\"LastWill\"]"),
        ("ForAllValues:StringLike", "iot:ConnectAttributes", "[\"Persist*\", \"LastWill\"]"),
        ("Null", "iot:ClientId", "\"true\""),
        ("Null", "aws:SourceIp", "\"false\""),
        ("Bool", "aws:SecureTransport", "\"true\""),
        ("NumericLessThan", "iot:Num", "\"5\""),
        ("IpAddress", "aws:SourceIp", "\"10.0.0.0/8\""),
        ("NotIpAddress", "aws:SourceIp", "[\"10.0.0.0/8\", \"::1\"]"),
        ("DateLessThan", "aws:CurrentTime", "\"2030-01-01T00:00:00Z\""),
        ("ArnLike", "iot:LastWillTopic", "\"" + Arn + "topic/will/*\""),
    ];

    private static readonly string[] RequestActions = ["iot:Publish", "iot:Subscribe", "iot:Receive", "iot:Connect", "IoT:PUBLISH", "iot:DeleteThing"];

    private static readonly string[] RequestResources =
    [
        Arn + "topic/a/b", Arn + "topic/a/*", Arn + "topic/c1", Arn + "topic/C1", Arn + "client/c1", Arn + "topic/dflt", Arn + "topicfilter/a/+",
        Arn + "topic/a/bc", Arn + "client/c*", Arn + "topic/t1/x", "arn:aws:iot:eu-west-1:123456789012:topic/a/b", "arn:aws:iot:us-east-2:123456789012:client/z",
    ];

    /// <summary>Each context key with its possible values; an index of 0 leaves the key out.</summary>
    private static readonly (string Key, string[][] Values)[] ContextPool =
    [
        ("iot:ClientId", [["c1"], ["C1"], ["*"], ["+"], ["c1", "c2"]]),
        ("iot:Connection.Thing.ThingName", [["t1"], ["c1"]]),
        ("iot:ConnectAttributes", [[], ["LastWill"], ["PersistentConnect", "LastWill"]]),
        ("aws:SecureTransport", [["true"], ["false"]]),
        ("aws:SourceIp", [["10.1.2.3"], ["192.168.0.1"], ["::1"]]),
        ("iot:Num", [["3"], ["7"], ["x"]]),
        ("aws:CurrentTime", [["2025-01-01T00:00:00Z"], ["2040-01-01T00:00:00Z"]]),
        ("iot:LastWillTopic", [[Arn + "topic/will/a"], [Arn + "topic/other"]]),
    ];

    public sealed record StatementModel(bool Deny, bool NotAction, string[] Actions, bool NotResource, string[] Resources, int[] Conditions)
    {
        public string ToJson()
        {
            var sb = new StringBuilder("{\"Effect\": \"").Append(Deny ? "Deny" : "Allow").Append("\", ");
            sb.Append(NotAction ? "\"NotAction\": " : "\"Action\": ").Append(List(Actions)).Append(", ");
            sb.Append(NotResource ? "\"NotResource\": " : "\"Resource\": ").Append(List(Resources));
            var distinct = Conditions.Distinct().Select(i => ConditionPool[i]).GroupBy(c => c.Operator).ToList();
            if (distinct.Count > 0)
            {
                sb.Append(", \"Condition\": {").AppendJoin(", ", distinct.Select(g =>
                    $"\"{g.Key}\": {{{string.Join(", ", g.Select(c => $"\"{c.Key}\": {c.Value}"))}}}")).Append('}');
            }

            return sb.Append('}').ToString();
        }

        private static string List(string[] items) => items.Length == 1 ? $"\"{items[0]}\"" : "[" + string.Join(", ", items.Select(i => $"\"{i}\"")) + "]";
    }

    public sealed record PolicyModel(bool Versioned, StatementModel[] Statements)
    {
        public string ToJson() =>
            "{" + (Versioned ? "\"Version\": \"2012-10-17\", " : "") + "\"Statement\": [" + string.Join(", ", Statements.Select(s => s.ToJson())) + "]}";
    }

    public sealed record RequestModel(string Action, string Resource, int[] ContextChoices)
    {
        public RequestContext Context()
        {
            var context = new RequestContext();
            for (var i = 0; i < ContextPool.Length && i < ContextChoices.Length; i++)
            {
                var (key, values) = ContextPool[i];
                var choice = ContextChoices[i] % (values.Length + 1);
                if (choice == 0)
                {
                    continue;
                }

                var value = values[choice - 1];
                _ = value.Length == 1 && key != "iot:ConnectAttributes" ? context.Set(key, value[0]) : context.Set(key, value);
            }

            return context;
        }

        public AuthorizationRequest ToRequest() => new(Action, Resource, Context());

        public override string ToString()
        {
            var context = Context();
            return $"{Action} on {Resource} with {{{string.Join(", ", context.Keys.Select(k =>
            {
                context.TryGetValue(k, out var v);
                return v.IsMultiValued ? $"{k}: [{string.Join(", ", Enumerable.Range(0, v.Count).Select(i => v[i]))}]" : $"{k}: {v.Single}";
            }))}}}";
        }
    }

    public sealed record Scenario(PolicyModel[] Policies, PolicyModel[]? Boundary, RequestModel Request)
    {
        public static PolicySet Compile(IEnumerable<PolicyModel> policies, string prefix) =>
            PolicySet.Create(policies.Select((p, i) => PolicyParser.Parse($"{prefix}{i}", p.ToJson())));

        public PolicySet Set => Compile(Policies, "p");

        public PolicySet? BoundarySet => Boundary is null ? null : Compile(Boundary, "b");

        public override string ToString() =>
            $"policies: {string.Join(" | ", Policies.Select(p => p.ToJson()))}\nboundary: {(Boundary is null ? "none" : string.Join(" | ", Boundary.Select(p => p.ToJson())))}\nrequest: {Request}";
    }

    private static readonly Gen<StatementModel> StatementGen = Gen.Select(
        Gen.Bool, Gen.Int[0, 9], Gen.OneOf(ActionPool).Array[1, 2], Gen.Int[0, 9], Gen.OneOf(ResourcePool).Array[1, 2], Gen.Int[0, ConditionPool.Length - 1].Array[0, 2],
        (deny, notAction, actions, notResource, resources, conditions) => new StatementModel(deny, notAction == 0, actions, notResource == 0, resources, conditions));

    private static readonly Gen<PolicyModel> PolicyGen = Gen.Select(Gen.Int[0, 5], StatementGen.Array[1, 4], (version, statements) => new PolicyModel(version != 0, statements));

    private static readonly Gen<RequestModel> RequestGen = Gen.Select(
        Gen.OneOf(RequestActions), Gen.OneOf(RequestResources), Gen.Int[0, 5].Array[ContextPool.Length], (a, r, c) => new RequestModel(a, r, c));

    private static readonly Gen<Scenario> ScenarioGen = Gen.Select(
        PolicyGen.Array[1, 3], Gen.Int[0, 2], PolicyGen.Array[0, 2], RequestGen,
        (policies, boundaryMode, boundary, request) => new Scenario(policies, boundaryMode == 0 ? boundary : null, request));

    [Fact]
    public void Decide_and_Explain_agree_and_an_explicit_deny_is_explicit()
    {
        var counts = new int[3];
        PropertyKit.Run(ScenarioGen, s =>
        {
            var set = s.Set;
            var boundary = s.BoundarySet;
            var request = s.Request.ToRequest();
            var decision = PolicyEvaluator.Decide(set, boundary, request);
            var explanation = PolicyEvaluator.Explain(set, boundary, request);
            Interlocked.Increment(ref counts[(int)decision.Kind]);
            Assert.Equal(explanation.Decision, decision.Kind);
            if (explanation.ExplicitDenies.Count > 0)
            {
                Assert.Equal(DecisionKind.ExplicitDeny, explanation.Decision);
            }

            Assert.All(explanation.ExplicitDenies, m => Assert.Equal(Effect.Deny, m.Statement.Effect));
            Assert.All(explanation.Allowed, m => Assert.Equal(Effect.Allow, m.Statement.Effect));
            switch (decision.Kind)
            {
                case DecisionKind.ExplicitDeny:
                    Assert.Equal(Effect.Deny, decision.DecidingStatement?.Effect);
                    Assert.Contains(explanation.ExplicitDenies, m => ReferenceEquals(m.Statement, decision.DecidingStatement));
                    break;
                case DecisionKind.Allowed:
                    Assert.Equal(Effect.Allow, decision.DecidingStatement?.Effect);
                    Assert.Contains(explanation.Allowed, m => !m.FromBoundary && ReferenceEquals(m.Statement, decision.DecidingStatement));
                    Assert.Empty(explanation.ExplicitDenies);
                    Assert.Contains(explanation.Allowed, m => !m.FromBoundary);
                    Assert.True(boundary is null || explanation.Allowed.Any(m => m.FromBoundary), "ALLOWED without an Allow in the boundary");
                    break;
                default:
                    Assert.Null(decision.DecidingStatement);
                    Assert.Empty(explanation.ExplicitDenies);
                    break;
            }

            // Every policy either spoke (an Allow or Deny statement matched) or is listed as silent.
            var spoke = explanation.Allowed.Concat(explanation.ExplicitDenies).Select(m => m.Statement.Policy).ToHashSet();
            Assert.All(set.Policies.Concat(boundary?.Policies ?? []), p => Assert.True(spoke.Contains(p) != explanation.SilentPolicies.Contains(p), $"{p} spoke and was silent, or neither"));
        }, Iterations, output, s => s.ToString());

        // The generator must reach every outcome often enough for the property to mean something.
        output.WriteLine($"ALLOWED {counts[(int)DecisionKind.Allowed]}, EXPLICIT_DENY {counts[(int)DecisionKind.ExplicitDeny]}, IMPLICIT_DENY {counts[(int)DecisionKind.ImplicitDeny]}");
        Assert.All(counts, n => Assert.True(n > Iterations / 20, $"outcome distribution too skewed: {string.Join(", ", counts)}"));
    }

    [Fact]
    public void Adding_a_matching_deny_always_yields_explicit_deny() =>
        PropertyKit.Run(Gen.Select(ScenarioGen, Gen.Int[0, 3]), c =>
        {
            var (s, variant) = c;
            var deny = variant switch
            {
                0 => $"{{\"Statement\": {{\"Effect\": \"Deny\", \"Action\": \"{s.Request.Action}\", \"Resource\": \"{s.Request.Resource}\"}}}}",
                1 => "{\"Statement\": {\"Effect\": \"Deny\", \"Action\": \"*\", \"Resource\": \"*\"}}",
                2 => $"{{\"Version\": \"2012-10-17\", \"Statement\": [{{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"}}, {{\"Effect\": \"Deny\", \"Action\": [\"iot:Nothing\", \"{s.Request.Action.ToUpperInvariant()}\"], \"Resource\": [\"{Arn}nothing\", \"{s.Request.Resource}\"]}}]}}",
                _ => $"{{\"Statement\": {{\"Effect\": \"Deny\", \"NotAction\": \"iot:Nothing\", \"NotResource\": \"{Arn}nothing\"}}}}",
            };
            var denyPolicy = PolicyParser.Parse("deny", deny);
            var request = s.Request.ToRequest();
            var set = PolicySet.Create([.. s.Set.Policies, denyPolicy]);
            Assert.Equal(DecisionKind.ExplicitDeny, PolicyEvaluator.Decide(set, s.BoundarySet, request).Kind);
            Assert.Equal(DecisionKind.ExplicitDeny, PolicyEvaluator.Explain(set, s.BoundarySet, request).Decision);
            if (s.BoundarySet is { } boundary)
            {
                var bounded = PolicySet.Create([denyPolicy, .. boundary.Policies]);
                Assert.Equal(DecisionKind.ExplicitDeny, PolicyEvaluator.Decide(s.Set, bounded, request).Kind);
                Assert.Equal(DecisionKind.ExplicitDeny, PolicyEvaluator.Explain(s.Set, bounded, request).Decision);
            }
        }, Iterations, output, c => $"{c.Item1}\ndeny variant {c.Item2}");

    [Fact]
    public void Removing_all_deny_statements_never_turns_allowed_into_a_deny() =>
        PropertyKit.Run(ScenarioGen, s =>
        {
            static PolicyModel[] WithoutDenies(PolicyModel[] policies) =>
                [.. policies.Select(p => p with { Statements = [.. p.Statements.Where(st => !st.Deny)] }).Where(p => p.Statements.Length > 0)];

            var request = s.Request.ToRequest();
            var before = PolicyEvaluator.Decide(s.Set, s.BoundarySet, request).Kind;
            var relaxed = s with { Policies = WithoutDenies(s.Policies), Boundary = s.Boundary is null ? null : WithoutDenies(s.Boundary) };
            var after = PolicyEvaluator.Decide(relaxed.Set, relaxed.BoundarySet, request).Kind;
            Assert.NotEqual(DecisionKind.ExplicitDeny, after);
            Assert.Equal(after, PolicyEvaluator.Explain(relaxed.Set, relaxed.BoundarySet, request).Decision);
            if (before == DecisionKind.Allowed)
            {
                Assert.Equal(DecisionKind.Allowed, after);
            }
        }, Iterations, output, s => s.ToString());
}
