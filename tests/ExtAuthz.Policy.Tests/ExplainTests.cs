using static ExtAuthz.Policy.Tests.PolicyTestKit;

namespace ExtAuthz.Policy.Tests;

/// <summary>
/// <see cref="PolicyEvaluator.Explain"/> gives what TestAuthorization gives (IoT API TestAuthorization, AuthResult):
/// every matching Allow and Deny statement, the silent policies, and the missing context values.
/// </summary>
public sealed class ExplainTests
{
    private static readonly PolicyDocument Device = Doc("""
        [{"Sid": "Connect", "Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:iot:us-east-1:123456789012:client/${iot:ClientId}"},
         {"Sid": "Own", "Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": "arn:aws:iot:us-east-1:123456789012:topic/d/${iot:ClientId}/*"},
         {"Effect": "Allow", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/d/*"},
         {"Sid": "NoAdmin", "Effect": "Deny", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/d/admin/*"}]
        """, name: "device");

    private static readonly PolicyDocument Other = Doc("""{"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "*"}""", name: "other");

    private static readonly PolicyDocument Boundary = Doc("""
        [{"Sid": "B", "Effect": "Allow", "Action": "iot:*", "Resource": "*"},
         {"Sid": "BDeny", "Effect": "Deny", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/d/x/secret"}]
        """, name: "boundary");

    private static Explanation Explain(string action, string resource, IRequestContext? context, PolicySet? boundary = null) =>
        PolicyEvaluator.Explain(PolicySet.Create(Device, Other), boundary, Request(action, resource, context));

    private static (string Policy, int Index, string? Sid, bool FromBoundary)[] Describe(IEnumerable<StatementMatch> matches) =>
        [.. matches.Select(m => (m.Statement.Policy.Name, m.Statement.Index, m.Statement.Sid, m.FromBoundary))];

    [Fact]
    public void Lists_every_matching_allow_and_the_silent_policies()
    {
        var explanation = Explain("iot:Publish", Iot + "topic/d/dev1/t", Context("iot:ClientId", "dev1"));

        Assert.Equal(DecisionKind.Allowed, explanation.Decision);
        Assert.Equal([("device", 1, "Own", false), ("device", 2, null, false)], Describe(explanation.Allowed));
        Assert.Empty(explanation.ExplicitDenies);
        Assert.Equal(["other"], explanation.SilentPolicies.Select(p => p.Name));
        Assert.Empty(explanation.MissingContextValues);
    }

    [Fact]
    public void Lists_denies_next_to_the_allows_they_override()
    {
        var explanation = Explain("iot:Publish", Iot + "topic/d/admin/x", Context("iot:ClientId", "dev1"));

        Assert.Equal(DecisionKind.ExplicitDeny, explanation.Decision);
        Assert.Equal([("device", 3, "NoAdmin", false)], Describe(explanation.ExplicitDenies));
        Assert.Equal([("device", 2, null, false)], Describe(explanation.Allowed));
    }

    [Fact]
    public void Reports_keys_the_matching_statements_needed_but_the_request_lacked()
    {
        var explanation = Explain("iot:Publish", Iot + "topic/e/1", null);

        Assert.Equal(DecisionKind.ImplicitDeny, explanation.Decision);
        Assert.Equal(["iot:ClientId"], explanation.MissingContextValues);
        Assert.Equal(["device", "other"], explanation.SilentPolicies.Select(p => p.Name));
        Assert.Empty(explanation.Allowed);
    }

    [Fact]
    public void Missing_values_come_only_from_statements_whose_action_matches()
    {
        Assert.Empty(Explain("iot:Subscribe", Iot + "topicfilter/x", null).MissingContextValues);
        Assert.Equal(["iot:ClientId"], Explain("iot:Connect", Iot + "client/c1", null).MissingContextValues);
    }

    [Fact]
    public void Missing_values_are_sorted_and_skip_defaults_IfExists_and_Null_keys()
    {
        var policy = Doc("""
            [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:iot:us-east-1:123456789012:client/${zeta}${team, 'x'}",
              "Condition": {
                "StringEquals": {"beta": "${alpha}", "gamma": "${delta, 'd'}"},
                "StringEqualsIfExists": {"optional": "1"},
                "Null": {"absent": "true"},
                "ForAllValues:StringEquals": {"iot:ConnectAttributes": []}}},
             {"Effect": "Allow", "Action": "iot:Publish", "Resource": "*", "Condition": {"StringEquals": {"publishonly": "1"}}}]
            """);

        var explanation = PolicyEvaluator.Explain(PolicySet.Create(policy), null, Request("iot:Connect", Iot + "client/c", Context("gamma", "d")));

        Assert.Equal(["alpha", "beta", "iot:ConnectAttributes", "zeta"], explanation.MissingContextValues);
    }

    [Fact]
    public void A_key_written_in_two_cases_is_reported_once()
    {
        var policy = Doc("""
            [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:iot:us-east-1:123456789012:client/${iot:ClientId}"},
             {"Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:iot:us-east-1:123456789012:client/x/${IOT:CLIENTID}"}]
            """);

        var explanation = PolicyEvaluator.Explain(PolicySet.Create(policy), null, Request("iot:Connect", Iot + "client/c", null));

        Assert.Single(explanation.MissingContextValues);
    }

    [Fact]
    public void A_present_key_is_not_missing_even_when_multi_valued_or_empty()
    {
        var policy = Doc("""{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*", "Condition": {"StringEquals": {"a": "1", "b": "2"}}}""");
        var context = new RequestContext().Set("a", "").Set("B", ["x"]);

        Assert.Empty(PolicyEvaluator.Explain(PolicySet.Create(policy), null, Request("iot:Connect", "*", context)).MissingContextValues);
    }

    [Fact]
    public void Marks_boundary_statements_and_lists_silent_boundary_policies()
    {
        var explanation = Explain("iot:Publish", Iot + "topic/d/x/secret", Context("iot:ClientId", "dev1"), PolicySet.Create(Boundary));

        Assert.Equal(DecisionKind.ExplicitDeny, explanation.Decision);
        Assert.Equal([("boundary", 1, "BDeny", true)], Describe(explanation.ExplicitDenies));
        Assert.Equal([("device", 2, null, false), ("boundary", 0, "B", true)], Describe(explanation.Allowed));

        var silentBoundary = Explain("iot:Subscribe", Iot + "topicfilter/x", null, PolicySet.Create(Doc("""{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}""", name: "b2")));
        Assert.Equal(DecisionKind.ImplicitDeny, silentBoundary.Decision);
        Assert.Equal(["device", "b2"], silentBoundary.SilentPolicies.Select(p => p.Name));
        Assert.Equal([("other", 0, null, false)], Describe(silentBoundary.Allowed));
    }

    [Fact]
    public void An_empty_boundary_allows_nothing_in_the_explanation_either()
    {
        var explanation = Explain("iot:Publish", Iot + "topic/d/dev1/t", Context("iot:ClientId", "dev1"), PolicySet.Empty);

        Assert.Equal(DecisionKind.ImplicitDeny, explanation.Decision);
        Assert.Equal(2, explanation.Allowed.Count);
    }

    [Fact]
    public void Allowed_needs_an_allow_from_the_policies_not_just_the_boundary()
    {
        var explanation = Explain("iot:Connect", Iot + "client/c1", Context("iot:ClientId", "c2"), PolicySet.Create(Boundary));

        Assert.Equal(DecisionKind.ImplicitDeny, explanation.Decision);
        Assert.Equal([("boundary", 0, "B", true)], Describe(explanation.Allowed));
    }
}
