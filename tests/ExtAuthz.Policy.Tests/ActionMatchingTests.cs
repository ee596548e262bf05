using static ExtAuthz.Policy.Tests.PolicyTestKit;

namespace ExtAuthz.Policy.Tests;

/// <summary>
/// Action and NotAction: service prefix and action name are case-insensitive; <c>*</c> and <c>?</c> are
/// wildcards (IAM reference_policies_elements_action, _notaction).
/// </summary>
public sealed class ActionMatchingTests
{
    private static bool Allows(string actionPattern, string action) =>
        Decide($$"""{"Effect": "Allow", "Action": "{{actionPattern}}", "Resource": "*"}""", action, Iot + "topic/t") == DecisionKind.Allowed;

    [Theory]
    [InlineData("iot:Publish", "iot:Publish", true)]
    [InlineData("iot:Publish", "IOT:publish", true)]
    [InlineData("IoT:PUBLISH", "iot:Publish", true)]
    [InlineData("iot:Publish", "iot:PublishX", false)]
    [InlineData("iot:Publish", "iot:Publis", false)]
    [InlineData("iot:Publish", "iotx:Publish", false)]
    [InlineData("iot:*", "iot:Subscribe", true)]
    [InlineData("iot:*", "IOT:Subscribe", true)]
    [InlineData("iot:*", "greengrass:Subscribe", false)]
    [InlineData("*", "greengrass:Subscribe", true)]
    [InlineData("iot:*Thing*", "iot:GetThingShadow", true)]
    [InlineData("iot:*thing*", "iot:GetThingShadow", true)]
    [InlineData("iot:*Thing*", "iot:Publish", false)]
    [InlineData("iot:Get*", "iot:GetRetainedMessage", true)]
    [InlineData("iot:Get*", "iot:ListRetainedMessages", false)]
    [InlineData("iot:?eceive", "iot:Receive", true)]
    [InlineData("iot:?eceive", "iot:eceive", false)]
    [InlineData("iot:?eceive", "iot:RReceive", false)]
    [InlineData("iot:Publis?", "iot:PUBLISH", true)]
    public void Matches_actions_case_insensitively_with_wildcards(string pattern, string action, bool allowed)
    {
        Assert.Equal(allowed, Allows(pattern, action));
    }

    [Fact]
    public void Any_listed_action_matches()
    {
        const string statement = """{"Effect": "Allow", "Action": ["iot:Connect", "iot:Publish"], "Resource": "*"}""";

        Assert.Equal(DecisionKind.Allowed, Decide(statement, "iot:Connect", Iot + "client/c"));
        Assert.Equal(DecisionKind.Allowed, Decide(statement, "iot:publish", Iot + "client/c"));
        Assert.Equal(DecisionKind.ImplicitDeny, Decide(statement, "iot:Subscribe", Iot + "client/c"));
    }

    [Theory]
    [InlineData("iot:Publish", false)]
    [InlineData("IOT:PUBLISH", false)]
    [InlineData("iot:Connect", true)]
    [InlineData("s3:GetObject", true)]
    public void NotAction_with_allow_grants_every_other_action(string action, bool allowed)
    {
        const string statement = """{"Effect": "Allow", "NotAction": "iot:Publish", "Resource": "*"}""";

        Assert.Equal(allowed ? DecisionKind.Allowed : DecisionKind.ImplicitDeny, Decide(statement, action, Iot + "topic/t"));
    }

    [Theory]
    [InlineData("iot:Connect", DecisionKind.Allowed)]
    [InlineData("iot:Publish", DecisionKind.Allowed)]
    [InlineData("iot:Subscribe", DecisionKind.ExplicitDeny)]
    [InlineData("iot:DeleteThingShadow", DecisionKind.ExplicitDeny)]
    public void NotAction_with_deny_denies_every_other_action(string action, DecisionKind expected)
    {
        const string statements = """
            [{"Effect": "Allow", "Action": "*", "Resource": "*"},
             {"Effect": "Deny", "NotAction": ["iot:Connect", "iot:Pub*"], "Resource": "*"}]
            """;

        Assert.Equal(expected, Decide(statements, action, Iot + "topic/t"));
    }

    [Fact]
    public void Statement_reports_which_actions_it_covers()
    {
        var statement = Doc("""{"Effect": "Allow", "NotAction": "iot:Receive", "Resource": "*"}""").Statements[0];

        Assert.False(statement.MatchesAction("IOT:RECEIVE"));
        Assert.True(statement.MatchesAction("iot:Publish"));
    }

    [Fact]
    public void Question_mark_counts_a_surrogate_pair_as_one_character()
    {
        Assert.True(Allows("iot:a?b", "iot:a\U0001F600b"));
        Assert.False(Allows("iot:a??b", "iot:a\U0001F600b"));
    }
}
