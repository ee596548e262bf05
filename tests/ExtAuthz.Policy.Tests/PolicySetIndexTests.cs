using static ExtAuthz.Policy.Tests.PolicyTestKit;

namespace ExtAuthz.Policy.Tests;

/// <summary>
/// <see cref="PolicySet"/> indexes statements by the actions policies name literally, with every statement
/// that covers such an action (wildcards and NotAction included) settled up front; other actions fall back
/// to the wildcard and NotAction statements. The lookup is case-insensitive.
/// </summary>
public sealed class PolicySetIndexTests
{
    private static readonly PolicyDocument First = Doc("""
        [{"Sid": "Literal", "Effect": "Allow", "Action": "iot:Publish", "Resource": "*"},
         {"Sid": "Wild", "Effect": "Allow", "Action": "iot:Sub*", "Resource": "*"},
         {"Sid": "Mixed", "Effect": "Deny", "Action": ["iot:Connect", "iot:*Shadow"], "Resource": "arn:aws:iot:us-east-1:123456789012:thing/locked"}]
        """, name: "first");

    private static readonly PolicyDocument Second = Doc("""
        [{"Sid": "Not", "Effect": "Deny", "NotAction": ["iot:Publish", "iot:Subscribe", "iot:Connect", "iot:GetThingShadow"], "Resource": "*"},
         {"Sid": "Cased", "Effect": "Allow", "Action": "IOT:PUBLISH", "Resource": "*"}]
        """, name: "second");

    private static readonly PolicySet Set = PolicySet.Create(First, Second);

    private static string[] Candidates(string action, bool denies)
    {
        var bucket = Set.For(action);
        return [.. (denies ? bucket.Denies : bucket.Allows).Select(e => e.Statement.Sid ?? "")];
    }

    [Fact]
    public void Keeps_the_policies_in_order()
    {
        Assert.Equal([First, Second], Set.Policies);
        Assert.False(Set.IsEmpty);
    }

    [Theory]
    [InlineData("iot:Publish")]
    [InlineData("IOT:publish")]
    public void A_literal_action_lists_in_any_case_exactly_the_statements_that_cover_it(string action)
    {
        // "Wild" (iot:Sub*), "Mixed" (iot:Connect, iot:*Shadow) and "Not" (NotAction naming iot:Publish) do not cover it.
        Assert.Equal(["Literal", "Cased"], Candidates(action, denies: false));
        Assert.Empty(Candidates(action, denies: true));
        Assert.All(Set.For(action).Allows, e => Assert.True(e.ActionKnown));
    }

    [Fact]
    public void An_indexed_action_leaves_out_a_NotAction_statement_that_names_it()
    {
        Assert.Equal(["Mixed"], Candidates("iot:Connect", denies: true));
        Assert.All(Set.For("iot:Connect").Denies, e => Assert.True(e.ActionKnown));
    }

    [Fact]
    public void An_indexed_action_includes_a_wildcard_statement_that_covers_it()
    {
        var set = PolicySet.Create(Doc("""
            [{"Sid": "Exact", "Effect": "Allow", "Action": "iot:Subscribe", "Resource": "*"},
             {"Sid": "Wild", "Effect": "Deny", "Action": "iot:Sub*", "Resource": "*"},
             {"Sid": "Everything", "Effect": "Deny", "NotAction": "iot:Connect", "Resource": "*"}]
            """));

        Assert.Equal(["Wild", "Everything"], set.For("IOT:SUBSCRIBE").Denies.Select(e => e.Statement.Sid));
        Assert.All(set.For("iot:subscribe").Denies, e => Assert.True(e.ActionKnown));
    }

    [Fact]
    public void An_unindexed_action_still_finds_wildcard_and_NotAction_statements()
    {
        Assert.Equal(["Wild"], Candidates("iot:Receive", denies: false));
        Assert.Equal(["Mixed", "Not"], Candidates("iot:Receive", denies: true));
    }

    [Theory]
    [InlineData("iot:Publish", "*", DecisionKind.Allowed, "Literal")]
    [InlineData("IOT:PUBLISH", "*", DecisionKind.Allowed, "Literal")]
    [InlineData("iot:subscribe", "*", DecisionKind.Allowed, "Wild")]
    [InlineData("iot:SubscribeX", "*", DecisionKind.ExplicitDeny, "Not")]
    [InlineData("iot:Connect", "arn:aws:iot:us-east-1:123456789012:thing/locked", DecisionKind.ExplicitDeny, "Mixed")]
    [InlineData("iot:connect", "arn:aws:iot:us-east-1:123456789012:thing/open", DecisionKind.ImplicitDeny, null)]
    [InlineData("iot:UpdateThingShadow", "arn:aws:iot:us-east-1:123456789012:thing/locked", DecisionKind.ExplicitDeny, "Mixed")]
    [InlineData("iot:GetThingShadow", "arn:aws:iot:us-east-1:123456789012:thing/open", DecisionKind.ImplicitDeny, null)]
    [InlineData("iot:UpdateThingShadow", "arn:aws:iot:us-east-1:123456789012:thing/open", DecisionKind.ExplicitDeny, "Not")]
    [InlineData("iot:Receive", "*", DecisionKind.ExplicitDeny, "Not")]
    public void Decides_through_the_index_as_a_plain_scan_would(string action, string resource, DecisionKind kind, string? sid)
    {
        var decision = PolicyEvaluator.Decide(Set, Request(action, resource));

        Assert.Equal((kind, sid), (decision.Kind, decision.DecidingStatement?.Sid));
        Assert.Equal(kind, PolicyEvaluator.Explain(Set, null, Request(action, resource)).Decision);
    }

    [Fact]
    public void A_NotAction_statement_is_not_a_candidate_through_the_actions_it_excludes()
    {
        var notPublish = Doc("""{"Sid": "AllButPublish", "Effect": "Allow", "NotAction": "iot:Publish", "Resource": "*"}""");
        var literal = Doc("""{"Sid": "Connect", "Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}""", name: "p2");
        var set = PolicySet.Create(notPublish, literal);

        Assert.Equal(DecisionKind.ImplicitDeny, PolicyEvaluator.Decide(set, Request("iot:publish", "*")).Kind);
        Assert.Equal("AllButPublish", PolicyEvaluator.Decide(set, Request("iot:Connect", "*")).DecidingStatement!.Sid);
        Assert.Equal("AllButPublish", PolicyEvaluator.Decide(set, Request("iot:Receive", "*")).DecidingStatement!.Sid);
    }

    [Fact]
    public void Create_accepts_any_sequence_of_policies()
    {
        var set = PolicySet.Create(new List<PolicyDocument> { Second });

        Assert.Equal("Cased", PolicyEvaluator.Decide(set, Request("iot:Publish", "*")).DecidingStatement!.Sid);
        Assert.Throws<ArgumentNullException>(() => PolicySet.Create((IEnumerable<PolicyDocument>)null!));
    }
}
