using static ExtAuthz.Policy.Tests.PolicyTestKit;

namespace ExtAuthz.Policy.Tests;

/// <summary>
/// AWS's evaluation across policies (IoT iot-policies, IAM reference_policies_evaluation-logic): an explicit
/// Deny anywhere wins, else an Allow allows, else the request is implicitly denied.
/// </summary>
public sealed class DecisionTests
{
    private static readonly PolicyDocument AllowTopics = Doc("""
        [{"Sid": "Connect", "Effect": "Allow", "Action": "iot:Connect", "Resource": "*"},
         {"Sid": "Topics", "Effect": "Allow", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/t/*"}]
        """, name: "allow-topics");

    private static readonly PolicyDocument DenySecret = Doc("""
        [{"Sid": "Secret", "Effect": "Deny", "Action": "iot:*", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/t/secret"}]
        """, name: "deny-secret");

    private static Decision Decide(PolicySet set, string action, string topic) =>
        PolicyEvaluator.Decide(set, Request(action, Iot + topic));

    [Fact]
    public void An_allow_allows_and_names_its_statement()
    {
        var decision = Decide(PolicySet.Create(AllowTopics, DenySecret), "iot:Publish", "topic/t/a");

        Assert.Equal(DecisionKind.Allowed, decision.Kind);
        Assert.True(decision.IsAllowed);
        Assert.Same(AllowTopics.Statements[1], decision.DecidingStatement);
        Assert.Equal("allow-topics#1 (Topics)", decision.DecidingStatement!.ToString());
    }

    [Fact]
    public void A_deny_in_another_policy_wins_over_an_allow()
    {
        var decision = Decide(PolicySet.Create(AllowTopics, DenySecret), "iot:Publish", "topic/t/secret");

        Assert.Equal(DecisionKind.ExplicitDeny, decision.Kind);
        Assert.False(decision.IsAllowed);
        Assert.Same(DenySecret.Statements[0], decision.DecidingStatement);
    }

    [Fact]
    public void The_order_of_policies_does_not_change_the_outcome()
    {
        Assert.Equal(DecisionKind.ExplicitDeny, Decide(PolicySet.Create(DenySecret, AllowTopics), "iot:Publish", "topic/t/secret").Kind);
        Assert.Equal(DecisionKind.ExplicitDeny, Decide(PolicySet.Create(AllowTopics, DenySecret), "iot:Publish", "topic/t/secret").Kind);
    }

    [Fact]
    public void A_deny_alone_is_explicit_and_nothing_is_implicit()
    {
        Assert.Equal(DecisionKind.ExplicitDeny, Decide(PolicySet.Create(DenySecret), "iot:Publish", "topic/t/secret").Kind);
        var nothing = Decide(PolicySet.Create(DenySecret), "iot:Publish", "topic/t/a");
        Assert.Equal(new Decision(DecisionKind.ImplicitDeny, null), nothing);
    }

    [Fact]
    public void No_policies_deny_implicitly()
    {
        Assert.Equal(Decision.Implicit, Decide(PolicySet.Empty, "iot:Connect", "client/c1"));
        Assert.True(PolicySet.Empty.IsEmpty);
    }

    [Fact]
    public void An_unmatched_action_or_resource_denies_implicitly()
    {
        var set = PolicySet.Create(AllowTopics);

        Assert.Equal(DecisionKind.ImplicitDeny, Decide(set, "iot:Subscribe", "topic/t/a").Kind);
        Assert.Equal(DecisionKind.ImplicitDeny, Decide(set, "iot:Publish", "topic/u/a").Kind);
    }

    [Fact]
    public void The_first_matching_deny_decides_even_when_it_comes_after_allows()
    {
        var policy = Doc("""
            [{"Sid": "A", "Effect": "Allow", "Action": "iot:*", "Resource": "*"},
             {"Sid": "D1", "Effect": "Deny", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/x"},
             {"Sid": "D2", "Effect": "Deny", "Action": "iot:*", "Resource": "*"}]
            """);

        var decision = Decide(PolicySet.Create(policy), "iot:Publish", "topic/x");

        Assert.Equal((DecisionKind.ExplicitDeny, "D1"), (decision.Kind, decision.DecidingStatement!.Sid));
    }

    [Fact]
    public void The_first_matching_allow_in_document_order_decides()
    {
        var first = Doc("""[{"Sid": "Wild", "Effect": "Allow", "Action": "iot:*", "Resource": "*"}]""", name: "first");
        var second = Doc("""[{"Sid": "Exact", "Effect": "Allow", "Action": "iot:Publish", "Resource": "*"}]""", name: "second");

        Assert.Equal("Wild", Decide(PolicySet.Create(first, second), "iot:Publish", "topic/a").DecidingStatement!.Sid);
        Assert.Equal("Exact", Decide(PolicySet.Create(second, first), "iot:Publish", "topic/a").DecidingStatement!.Sid);
    }

    [Fact]
    public void A_deny_whose_condition_fails_does_not_deny()
    {
        var policy = Doc("""
            [{"Effect": "Allow", "Action": "iot:Publish", "Resource": "*"},
             {"Effect": "Deny", "Action": "iot:Publish", "Resource": "*", "Condition": {"StringEquals": {"iot:ClientId": "bad"}}}]
            """);

        Assert.Equal(DecisionKind.Allowed, PolicyTestKit.Decide(policy, "iot:Publish", Iot + "topic/a", Context("iot:ClientId", "good")).Kind);
        Assert.Equal(DecisionKind.ExplicitDeny, PolicyTestKit.Decide(policy, "iot:Publish", Iot + "topic/a", Context("iot:ClientId", "bad")).Kind);
    }

    [Theory]
    [InlineData(DecisionKind.Allowed, "ALLOWED")]
    [InlineData(DecisionKind.ExplicitDeny, "EXPLICIT_DENY")]
    [InlineData(DecisionKind.ImplicitDeny, "IMPLICIT_DENY")]
    public void Decision_kinds_are_named_as_aws_names_them(DecisionKind kind, string name)
    {
        Assert.Equal(name, kind.ToAwsString());
    }

    [Fact]
    public void A_statement_without_sid_is_named_by_policy_and_index()
    {
        Assert.Equal("deny-secret#0 (Secret)", DenySecret.Statements[0].ToString());
        Assert.Equal("p1#0", Doc("""{"Effect": "Allow", "Action": "iot:Publish", "Resource": "*"}""").Statements[0].ToString());
    }

    [Fact]
    public void The_request_keeps_action_resource_and_context()
    {
        var context = Context("iot:ClientId", "c1");
        var request = Request("iot:Connect", Iot + "client/c1", context);

        Assert.Equal(("iot:Connect", Iot + "client/c1"), (request.Action, request.Resource));
        Assert.Same(context, request.Context);
        Assert.Same(RequestContext.Empty, Request("iot:Connect", "*").Context);
    }
}
