using static ExtAuthz.Policy.Tests.PolicyTestKit;

namespace ExtAuthz.Policy.Tests;

/// <summary>
/// Boundary policy sets intersect with the policies (Cognito: IAM role policy ∩ IoT policy, IoT pub-sub-policy):
/// allowed only if both allow; a Deny in either is explicit; a present but empty boundary allows nothing.
/// </summary>
public sealed class BoundaryTests
{
    private static readonly PolicySet AllowA = PolicySet.Create(Doc("""{"Sid": "A", "Effect": "Allow", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/a/*"}""", name: "iot"));
    private static readonly PolicySet AllowAll = PolicySet.Create(Doc("""{"Sid": "All", "Effect": "Allow", "Action": "iot:*", "Resource": "*"}""", name: "role"));
    private static readonly PolicySet DenyAx = PolicySet.Create(Doc("""
        [{"Sid": "All", "Effect": "Allow", "Action": "iot:*", "Resource": "*"},
         {"Sid": "NoX", "Effect": "Deny", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/a/x"}]
        """, name: "role-deny"));

    private static Decision Decide(PolicySet policies, PolicySet? boundary, string topic) =>
        PolicyEvaluator.Decide(policies, boundary, Request("iot:Publish", Iot + topic));

    [Fact]
    public void Allowed_when_both_sets_allow_and_the_primary_statement_decides()
    {
        var decision = Decide(AllowA, AllowAll, "topic/a/1");

        Assert.Equal(DecisionKind.Allowed, decision.Kind);
        Assert.Equal(("iot", "A"), (decision.DecidingStatement!.Policy.Name, decision.DecidingStatement.Sid));
    }

    [Theory]
    [InlineData("topic/b/1")]
    public void Implicitly_denied_when_only_the_boundary_allows(string topic)
    {
        Assert.Equal(Decision.Implicit, Decide(AllowA, AllowAll, topic));
    }

    [Fact]
    public void Implicitly_denied_when_only_the_policies_allow()
    {
        Assert.Equal(Decision.Implicit, Decide(AllowAll, AllowA, "topic/b/1"));
    }

    [Fact]
    public void A_deny_in_the_boundary_is_explicit()
    {
        var decision = Decide(AllowA, DenyAx, "topic/a/x");

        Assert.Equal(DecisionKind.ExplicitDeny, decision.Kind);
        Assert.Equal(("role-deny", "NoX"), (decision.DecidingStatement!.Policy.Name, decision.DecidingStatement.Sid));
    }

    [Fact]
    public void A_deny_in_the_boundary_is_explicit_even_when_the_policies_say_nothing()
    {
        Assert.Equal(DecisionKind.ExplicitDeny, Decide(PolicySet.Empty, DenyAx, "topic/a/x").Kind);
    }

    [Fact]
    public void A_deny_in_the_policies_is_explicit_whatever_the_boundary_says()
    {
        var decision = Decide(DenyAx, AllowAll, "topic/a/x");

        Assert.Equal(("role-deny", DecisionKind.ExplicitDeny), (decision.DecidingStatement!.Policy.Name, decision.Kind));
        Assert.Equal(DecisionKind.ExplicitDeny, Decide(DenyAx, PolicySet.Empty, "topic/a/x").Kind);
    }

    [Fact]
    public void A_present_but_empty_boundary_allows_nothing()
    {
        Assert.Equal(Decision.Implicit, Decide(AllowAll, PolicySet.Empty, "topic/a/1"));
        Assert.Equal(Decision.Implicit, Decide(AllowAll, PolicySet.Create([]), "topic/a/1"));
    }

    [Fact]
    public void No_boundary_means_the_policies_alone_decide()
    {
        Assert.Equal(DecisionKind.Allowed, Decide(AllowAll, null, "topic/b/1").Kind);
        Assert.Equal(
            PolicyEvaluator.Decide(AllowA, Request("iot:Publish", Iot + "topic/a/1")),
            Decide(AllowA, null, "topic/a/1"));
    }

    [Theory]
    [InlineData("topic/a/1", null, DecisionKind.Allowed)]
    [InlineData("topic/a/1", "empty", DecisionKind.ImplicitDeny)]
    [InlineData("topic/b/1", "all", DecisionKind.ImplicitDeny)]
    [InlineData("topic/a/x", "deny", DecisionKind.ExplicitDeny)]
    [InlineData("topic/a/1", "all", DecisionKind.Allowed)]
    public void Explain_reaches_the_same_decision(string topic, string? boundaryName, DecisionKind expected)
    {
        var boundary = boundaryName switch
        {
            null => null,
            "empty" => PolicySet.Empty,
            "all" => AllowAll,
            _ => DenyAx,
        };
        var request = Request("iot:Publish", Iot + topic);

        Assert.Equal(expected, PolicyEvaluator.Decide(AllowA, boundary, request).Kind);
        Assert.Equal(expected, PolicyEvaluator.Explain(AllowA, boundary, request).Decision);
    }
}
