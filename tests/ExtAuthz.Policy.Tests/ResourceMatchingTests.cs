using static ExtAuthz.Policy.Tests.PolicyTestKit;

namespace ExtAuthz.Policy.Tests;

/// <summary>
/// Resource and NotResource. ARNs split on their first five colons, so the resource part may hold
/// colons; <c>*</c> crosses '/', <c>?</c> is one character, MQTT <c>+</c> and <c>#</c> are plain
/// characters, and the resource part is case-sensitive (IoT pub-sub-policy, IAM reference-arns and
/// reference_policies_elements_resource).
/// </summary>
public sealed class ResourceMatchingTests
{
    private static bool Allows(string resourcePattern, string resource, string action = "iot:Subscribe") =>
        Decide($$"""{"Effect": "Allow", "Action": "{{action}}", "Resource": "{{resourcePattern}}"}""", action, resource) == DecisionKind.Allowed;

    [Theory]
    [InlineData("topicfilter/some/*/topic", "topicfilter/some/string1/topic", true)]
    [InlineData("topicfilter/some/*/topic", "topicfilter/some/a/b/c/topic", true)]
    [InlineData("topicfilter/some/*/topic", "topicfilter/some/+/topic", true)]
    [InlineData("topicfilter/some/*/topic", "topicfilter/some/topic", false)]
    [InlineData("topicfilter/foo/*", "topicfilter/foo/+/bar", true)]
    [InlineData("topicfilter/foo/*", "topicfilter/foo/#", true)]
    [InlineData("topicfilter/foo/*", "topicfilter/foo", false)]
    [InlineData("topicfilter/foo/*", "topicfilter/foo/", true)]
    [InlineData("topicfilter/some/?????/topic", "topicfilter/some/abcde/topic", true)]
    [InlineData("topicfilter/some/?????/topic", "topicfilter/some/abcd/topic", false)]
    [InlineData("topicfilter/some/?????/topic", "topicfilter/some/abcdef/topic", false)]
    [InlineData("topicfilter/some/?????/topic", "topicfilter/some/ab/de/topic", true)]
    [InlineData("topicfilter/some/sensor???/topic", "topicfilter/some/sensor123/topic", true)]
    public void Star_spans_levels_and_question_mark_is_one_character(string pattern, string resource, bool allowed)
    {
        Assert.Equal(allowed, Allows(Iot + pattern, Iot + resource));
    }

    [Theory]
    [InlineData("topicfilter/some/+/topic", "topicfilter/some/+/topic", true)]
    [InlineData("topicfilter/some/+/topic", "topicfilter/some/x/topic", false)]
    [InlineData("topicfilter/some/#", "topicfilter/some/#", true)]
    [InlineData("topicfilter/some/#", "topicfilter/some/x", false)]
    [InlineData("topicfilter/some/#", "topicfilter/some/", false)]
    public void Mqtt_wildcards_in_a_policy_are_ordinary_characters(string pattern, string resource, bool allowed)
    {
        Assert.Equal(allowed, Allows(Iot + pattern, Iot + resource));
    }

    [Theory]
    [InlineData("topic/a/*", "topic/a/*", true)]
    [InlineData("topic/a/b", "topic/a/*", false)]
    [InlineData("topic/a/b", "topic/a/?", false)]
    [InlineData("topic/a/?", "topic/a/?", true)]
    public void Characters_in_the_request_are_literal(string pattern, string resource, bool allowed)
    {
        Assert.Equal(allowed, Allows(Iot + pattern, Iot + resource, "iot:Publish"));
    }

    [Theory]
    [InlineData("topic/Sensors/temp", "topic/sensors/temp", false)]
    [InlineData("topic/sensors/*", "topic/Sensors/temp", false)]
    [InlineData("topic/sensors/*", "topic/sensors/TEMP", true)]
    public void The_resource_part_is_case_sensitive(string pattern, string resource, bool allowed)
    {
        Assert.Equal(allowed, Allows(Iot + pattern, Iot + resource, "iot:Publish"));
    }

    [Theory]
    [InlineData("arn:aws:iot:us-east-1:123456789012:topic/us-east-1:1111-2222", "arn:aws:iot:us-east-1:123456789012:topic/us-east-1:1111-2222", true)]
    [InlineData("arn:aws:iot:us-east-1:123456789012:topic/us-east-1:*", "arn:aws:iot:us-east-1:123456789012:topic/us-east-1:1111-2222", true)]
    [InlineData("arn:aws:iot:us-east-1:123456789012:topic/*", "arn:aws:iot:us-east-1:123456789012:topic/us-east-1:1111/x:y", true)]
    [InlineData("arn:aws:iot:us-east-1:123456789012:topic/us-west-2:*", "arn:aws:iot:us-east-1:123456789012:topic/us-east-1:1111", false)]
    public void The_resource_part_keeps_its_colons(string pattern, string resource, bool allowed)
    {
        Assert.Equal(allowed, Allows(pattern, resource, "iot:Publish"));
    }

    [Theory]
    [InlineData("arn:aws:iot:*:123456789012:topic/a", "arn:aws:iot:eu-west-1:123456789012:topic/a", true)]
    [InlineData("arn:aws:iot:us-*:*:topic/a", "arn:aws:iot:us-west-2:999999999999:topic/a", true)]
    [InlineData("arn:aws:iot:us-*:*:topic/a", "arn:aws:iot:eu-west-1:999999999999:topic/a", false)]
    [InlineData("arn:aws:iot:us-east-?:123456789012:topic/a", "arn:aws:iot:us-east-1:123456789012:topic/a", true)]
    [InlineData("arn:aws:iot:*:123456789012:topic/a", "arn:aws:iot:us-east-1:x:123456789012:topic/a", false)]
    [InlineData("arn:aws:iot:*:*:*", "arn:aws:iot:us-east-1:123456789012:topic/a", true)]
    [InlineData("arn:aws:iot:*:*:*", "arn:aws:greengrass:us-east-1:123456789012:topic/a", false)]
    [InlineData("arn:aws:iot:us-east-1:123456789012:topic/a", "arn:aws-cn:iot:us-east-1:123456789012:topic/a", false)]
    [InlineData("arn:aws:iot:us-east-1:123456789012:topic/a", "arn:aws:iot:us-east-1:123456789013:topic/a", false)]
    [InlineData("arn:aws:iot:US-EAST-1:123456789012:topic/a", "arn:aws:iot:us-east-1:123456789012:topic/a", false)]
    public void Wildcards_in_arn_components_stay_within_their_component(string pattern, string resource, bool allowed)
    {
        Assert.Equal(allowed, Allows(pattern, resource, "iot:Publish"));
    }

    [Theory]
    [InlineData("arn:aws:iot:us-east-1:123456789012:topic/a")]
    [InlineData("not-an-arn")]
    [InlineData("*")]
    public void A_lone_star_matches_any_resource(string resource)
    {
        Assert.True(Allows("*", resource, "iot:Publish"));
    }

    [Fact]
    public void A_request_that_is_not_an_arn_matches_no_arn_pattern()
    {
        Assert.False(Allows(Iot + "*", "topic/a", "iot:Publish"));
    }

    [Fact]
    public void Reserved_dollar_topics_match_literally()
    {
        Assert.True(Allows(Iot + "topic/$aws/things/t1/shadow/update", Iot + "topic/$aws/things/t1/shadow/update", "iot:Publish"));
        Assert.False(Allows(Iot + "topic/$aws/things/t1/shadow/update", Iot + "topic/aws/things/t1/shadow/update", "iot:Publish"));
    }

    [Fact]
    public void Any_listed_resource_matches()
    {
        const string statement = """{"Effect": "Allow", "Action": "iot:Publish", "Resource": ["arn:aws:iot:us-east-1:123456789012:topic/a", "arn:aws:iot:us-east-1:123456789012:topic/b/*"]}""";

        Assert.Equal(DecisionKind.Allowed, Decide(statement, "iot:Publish", Iot + "topic/a"));
        Assert.Equal(DecisionKind.Allowed, Decide(statement, "iot:Publish", Iot + "topic/b/c"));
        Assert.Equal(DecisionKind.ImplicitDeny, Decide(statement, "iot:Publish", Iot + "topic/c"));
    }

    [Theory]
    [InlineData("topic/a/restricted/x", DecisionKind.ImplicitDeny)]
    [InlineData("topic/a/open", DecisionKind.Allowed)]
    [InlineData("topic/b", DecisionKind.Allowed)]
    public void NotResource_with_allow_grants_every_other_resource(string resource, DecisionKind expected)
    {
        // The fix AWS documents for the a/# pitfall: Receive on everything except the restricted branch.
        const string statement = """{"Effect": "Allow", "Action": "iot:Receive", "NotResource": "arn:aws:iot:us-east-1:123456789012:topic/a/restricted/*"}""";

        Assert.Equal(expected, Decide(statement, "iot:Receive", Iot + resource));
    }

    [Theory]
    [InlineData("topic/own/x", DecisionKind.Allowed)]
    [InlineData("topic/shared", DecisionKind.Allowed)]
    [InlineData("topic/other", DecisionKind.ExplicitDeny)]
    public void NotResource_with_deny_denies_every_other_resource(string resource, DecisionKind expected)
    {
        const string statements = """
            [{"Effect": "Allow", "Action": "iot:Publish", "Resource": "*"},
             {"Effect": "Deny", "Action": "iot:Publish", "NotResource": ["arn:aws:iot:us-east-1:123456789012:topic/own/*", "arn:aws:iot:us-east-1:123456789012:topic/shared"]}]
            """;

        Assert.Equal(expected, Decide(statements, "iot:Publish", Iot + resource));
    }

    [Fact]
    public void The_pitfall_allow_and_deny_on_topic_filters_does_not_stop_a_hash_subscription()
    {
        // IoT pub-sub-policy: Allow topicfilter/a/* + Deny topicfilter/a/restricted/* still lets a/# through.
        const string statements = """
            [{"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/a/*"},
             {"Effect": "Deny", "Action": "iot:Subscribe", "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/a/restricted/*"}]
            """;

        Assert.Equal(DecisionKind.Allowed, Decide(statements, "iot:Subscribe", Iot + "topicfilter/a/#"));
        Assert.Equal(DecisionKind.ExplicitDeny, Decide(statements, "iot:Subscribe", Iot + "topicfilter/a/restricted/#"));
    }
}
