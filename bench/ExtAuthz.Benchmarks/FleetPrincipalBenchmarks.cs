using BenchmarkDotNet.Attributes;
using ExtAuthz.Policy;

namespace ExtAuthz.Benchmarks;

/// <summary>
/// A principal with 10 policies × 50 statements (see <see cref="PolicyCorpus"/>). The allowed request
/// is granted by statement 40 of policy 7, so most of the Publish candidates are tried first; the
/// denied one matches nothing and scans every candidate. Target: Decide ≤ 5 µs.
/// </summary>
[Config(typeof(MicroConfig))]
public class FleetPrincipalBenchmarks
{
    public const int Policies = 10;
    public const int StatementsPerPolicy = 50;

    private PolicySet set = null!;
    private AuthorizationRequest allowed;
    private AuthorizationRequest implicitlyDenied;

    [GlobalSetup]
    public void Setup()
    {
        var policies = Enumerable.Range(0, Policies)
            .Select(p => PolicyParser.Parse($"fleet-{p}", PolicyCorpus.Document(p, StatementsPerPolicy)))
            .ToArray();
        if (policies.Sum(p => p.Statements.Count) != Policies * StatementsPerPolicy)
        {
            throw new InvalidOperationException("benchmark setup: unexpected statement count");
        }

        set = PolicySet.Create(policies);
        var context = DevicePolicyBenchmarks.DeviceContext("sensor-0042").Set("aws:SourceIp", "10.7.3.4");
        allowed = new AuthorizationRequest("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/fleet/p7/group40/sensor-0042/telemetry", context);
        implicitlyDenied = new AuthorizationRequest("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/fleet/p12/group40/sensor-0042/telemetry", context);
        var decision = PolicyEvaluator.Decide(set, allowed);
        DevicePolicyBenchmarks.Check(decision, DecisionKind.Allowed, nameof(allowed));
        if (decision.DecidingStatement is not { Index: 40 } s || s.Policy.Name != "fleet-7")
        {
            throw new InvalidOperationException($"benchmark setup: allowed by {decision.DecidingStatement}, expected fleet-7#40");
        }

        DevicePolicyBenchmarks.Check(PolicyEvaluator.Decide(set, implicitlyDenied), DecisionKind.ImplicitDeny, nameof(implicitlyDenied));
    }

    [Benchmark(Baseline = true)]
    public Decision DecideAllowed() => PolicyEvaluator.Decide(set, allowed);

    [Benchmark]
    public Decision DecideImplicitDeny() => PolicyEvaluator.Decide(set, implicitlyDenied);
}
