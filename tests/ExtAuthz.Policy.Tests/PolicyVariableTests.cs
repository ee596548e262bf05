using static ExtAuthz.Policy.Tests.PolicyTestKit;

namespace ExtAuthz.Policy.Tests;

/// <summary>
/// Policy variables (IAM reference_policies_variables, IoT iot-policy-variables): substituted only under
/// Version 2012-10-17, with defaults and escapes; substituted text is literal; key names are
/// case-insensitive; unresolved variables fail closed (reference §5).
/// </summary>
public sealed class PolicyVariableTests
{
    private static DecisionKind Publish(string resourcePattern, string topic, IRequestContext? context, string? version = CurrentVersion) =>
        Decide($$"""{"Effect": "Allow", "Action": "iot:Publish", "Resource": "{{Iot}}{{resourcePattern}}"}""", "iot:Publish", Iot + topic, context, version);

    [Theory]
    [InlineData("dev1", "topic/t/dev1", DecisionKind.Allowed)]
    [InlineData("dev1", "topic/t/dev2", DecisionKind.ImplicitDeny)]
    [InlineData("dev1", "topic/t/dev1/x", DecisionKind.ImplicitDeny)]
    public void Substitutes_a_variable_in_the_resource(string clientId, string topic, DecisionKind expected)
    {
        Assert.Equal(expected, Publish("topic/t/${iot:ClientId}", topic, Context("iot:ClientId", clientId)));
    }

    [Theory]
    [InlineData("2008-10-17")]
    [InlineData(null)]
    public void Variables_are_literal_text_without_version_2012_10_17(string? version)
    {
        var context = Context("iot:ClientId", "dev1");

        Assert.Equal(DecisionKind.ImplicitDeny, Publish("topic/t/${iot:ClientId}", "topic/t/dev1", context, version));
        Assert.Equal(DecisionKind.Allowed, Publish("topic/t/${iot:ClientId}", "topic/t/${iot:ClientId}", context, version));
    }

    [Fact]
    public void Variables_are_literal_in_conditions_without_version_2012_10_17()
    {
        const string statement = """{"Effect": "Allow", "Action": "iot:Publish", "Resource": "*", "Condition": {"StringEquals": {"k": "${iot:ClientId}"}}}""";
        var topic = Iot + "topic/t";

        Assert.Equal(DecisionKind.ImplicitDeny, Decide(statement, "iot:Publish", topic, Context("k", "dev1", "iot:ClientId", "dev1"), version: "2008-10-17"));
        Assert.Equal(DecisionKind.Allowed, Decide(statement, "iot:Publish", topic, Context("k", "${iot:ClientId}"), version: "2008-10-17"));
        Assert.Equal(DecisionKind.Allowed, Decide(statement, "iot:Publish", topic, Context("k", "dev1", "iot:ClientId", "dev1")));
    }

    [Fact]
    public void Key_names_are_case_insensitive()
    {
        Assert.Equal(DecisionKind.Allowed, Publish("topic/${IOT:clientid}", "topic/dev1", Context("iot:ClientId", "dev1")));
        Assert.Equal(DecisionKind.Allowed, Publish("topic/${iot:ClientId}", "topic/dev1", Context("Iot:CLIENTID", "dev1")));
    }

    [Fact]
    public void Substituted_values_are_matched_literally()
    {
        // A client ID of "*" or "+" must not turn the statement into a wildcard (IoT basic-policy-variables).
        Assert.Equal(DecisionKind.ImplicitDeny, Publish("topic/t/${iot:ClientId}", "topic/t/anything", Context("iot:ClientId", "*")));
        Assert.Equal(DecisionKind.Allowed, Publish("topic/t/${iot:ClientId}", "topic/t/*", Context("iot:ClientId", "*")));
        Assert.Equal(DecisionKind.ImplicitDeny, Publish("topic/t/${iot:ClientId}", "topic/t/ab", Context("iot:ClientId", "a?")));
        Assert.Equal(DecisionKind.Allowed, Publish("topic/t/${iot:ClientId}", "topic/t/a?", Context("iot:ClientId", "a?")));
    }

    [Fact]
    public void A_wildcard_next_to_a_variable_still_works()
    {
        var context = Context("iot:ClientId", "dev1");

        Assert.Equal(DecisionKind.Allowed, Publish("topic/${iot:ClientId}/*", "topic/dev1/a/b", context));
        Assert.Equal(DecisionKind.Allowed, Publish("topic/*/${iot:ClientId}", "topic/a/b/dev1", context));
        Assert.Equal(DecisionKind.ImplicitDeny, Publish("topic/*/${iot:ClientId}", "topic/a/b/dev2", context));
    }

    [Fact]
    public void The_variable_resolves_to_a_cognito_identity_with_a_colon()
    {
        var context = Context("cognito-identity.amazonaws.com:sub", "us-east-1:1111-2222");

        Assert.Equal(DecisionKind.Allowed, Publish("topic/${cognito-identity.amazonaws.com:sub}", "topic/us-east-1:1111-2222", context));
        Assert.Equal(DecisionKind.ImplicitDeny, Publish("topic/${cognito-identity.amazonaws.com:sub}", "topic/us-east-1:3333", context));
    }

    [Theory]
    [InlineData("topic/a${*}b", "topic/a*b", DecisionKind.Allowed)]
    [InlineData("topic/a${*}b", "topic/axxb", DecisionKind.ImplicitDeny)]
    [InlineData("topic/a${?}b", "topic/a?b", DecisionKind.Allowed)]
    [InlineData("topic/a${?}b", "topic/axb", DecisionKind.ImplicitDeny)]
    [InlineData("topic/a${$}b", "topic/a$b", DecisionKind.Allowed)]
    [InlineData("topic/${$}{iot:ClientId}", "topic/${iot:ClientId}", DecisionKind.Allowed)]
    public void Escapes_produce_literal_characters(string pattern, string topic, DecisionKind expected)
    {
        Assert.Equal(expected, Publish(pattern, topic, Context("iot:ClientId", "dev1")));
    }

    [Fact]
    public void Escapes_work_in_condition_values()
    {
        Assert.True(AllowHolds("""{"StringLike": {"k": "a${*}"}}""", Context("k", "a*")));
        Assert.False(AllowHolds("""{"StringLike": {"k": "a${*}"}}""", Context("k", "abc")));
    }

    [Theory]
    [InlineData(null, "topic/team/company-wide", DecisionKind.Allowed)]
    [InlineData("red", "topic/team/red", DecisionKind.Allowed)]
    [InlineData("red", "topic/team/company-wide", DecisionKind.ImplicitDeny)]
    public void A_default_stands_in_for_a_missing_key(string? team, string topic, DecisionKind expected)
    {
        var context = team is null ? new RequestContext() : Context("aws:PrincipalTag/team", team);

        Assert.Equal(expected, Publish("topic/team/${aws:PrincipalTag/team, 'company-wide'}", topic, context));
    }

    [Fact]
    public void A_default_may_be_empty_and_is_literal()
    {
        Assert.Equal(DecisionKind.Allowed, Publish("topic/x${missing, ''}", "topic/x", null));
        Assert.Equal(DecisionKind.Allowed, Publish("topic/${missing, '*'}", "topic/*", null));
        Assert.Equal(DecisionKind.ImplicitDeny, Publish("topic/${missing, '*'}", "topic/a", null));
    }

    [Fact]
    public void An_unresolved_variable_in_resource_matches_nothing()
    {
        Assert.Equal(DecisionKind.ImplicitDeny, Publish("topic/${iot:ClientId}", "topic/", null));
        Assert.Equal(DecisionKind.ImplicitDeny, Publish("topic/${iot:ClientId}", "topic/${iot:ClientId}", null));
        Assert.Equal(DecisionKind.ImplicitDeny, Publish("*${iot:ClientId}", "topic/a", null));
    }

    [Fact]
    public void An_unresolved_variable_in_a_deny_resource_does_not_deny()
    {
        const string statements = """
            [{"Effect": "Allow", "Action": "iot:Publish", "Resource": "*"},
             {"Effect": "Deny", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/${iot:ClientId}"}]
            """;

        Assert.Equal(DecisionKind.Allowed, Decide(statements, "iot:Publish", Iot + "topic/dev1"));
        Assert.Equal(DecisionKind.ExplicitDeny, Decide(statements, "iot:Publish", Iot + "topic/dev1", Context("iot:ClientId", "dev1")));
    }

    [Theory]
    [InlineData("Allow", "topic/other", null, DecisionKind.ImplicitDeny)]
    [InlineData("Allow", "topic/other", "dev1", DecisionKind.Allowed)]
    [InlineData("Allow", "topic/dev1", "dev1", DecisionKind.ImplicitDeny)]
    [InlineData("Deny", "topic/other", null, DecisionKind.ExplicitDeny)]
    [InlineData("Deny", "topic/dev1", null, DecisionKind.ExplicitDeny)]
    [InlineData("Deny", "topic/dev1", "dev1", DecisionKind.Allowed)]
    [InlineData("Deny", "topic/other", "dev1", DecisionKind.ExplicitDeny)]
    public void An_unresolved_variable_in_NotResource_fails_closed(string effect, string topic, string? clientId, DecisionKind expected)
    {
        var allowAll = effect == "Deny" ? """{"Effect": "Allow", "Action": "*", "Resource": "*"}, """ : "";
        var statements = $$"""[{{allowAll}}{"Effect": "{{effect}}", "Action": "iot:Publish", "NotResource": "{{Iot}}topic/${iot:ClientId}"}]""";
        var context = clientId is null ? null : Context("iot:ClientId", clientId);

        Assert.Equal(expected, Decide(statements, "iot:Publish", Iot + topic, context));
    }

    [Fact]
    public void An_unresolved_variable_in_one_of_several_NotResource_entries_fails_closed()
    {
        const string statement = """{"Effect": "Allow", "Action": "iot:Publish", "NotResource": ["arn:aws:iot:us-east-1:123456789012:topic/admin", "arn:aws:iot:us-east-1:123456789012:topic/${iot:ClientId}"]}""";

        Assert.Equal(DecisionKind.ImplicitDeny, Decide(statement, "iot:Publish", Iot + "topic/x"));
        Assert.Equal(DecisionKind.Allowed, Decide(statement, "iot:Publish", Iot + "topic/x", Context("iot:ClientId", "dev1")));
    }

    [Fact]
    public void A_multi_valued_key_is_not_substituted()
    {
        var context = new RequestContext().Set("iot:ConnectAttributes", ["LastWill"]);

        Assert.Equal(DecisionKind.ImplicitDeny, Publish("topic/${iot:ConnectAttributes}", "topic/LastWill", context));
        Assert.Equal(DecisionKind.Allowed, Publish("topic/${iot:ConnectAttributes, 'none'}", "topic/none", context));
    }

    [Theory]
    [InlineData("StringEquals")]
    [InlineData("StringLike")]
    [InlineData("StringEqualsIgnoreCase")]
    [InlineData("ArnEquals")]
    [InlineData("ArnLike")]
    public void Positive_string_and_arn_operators_fail_on_an_unresolved_variable(string op)
    {
        var condition = $$$"""{"{{{op}}}": {"k": "arn:aws:iot:us-east-1:123456789012:thing/${iot:Connection.Thing.ThingName}"}}""";
        var resolved = Context("k", Iot + "thing/t1", "iot:Connection.Thing.ThingName", "t1");

        Assert.True(AllowHolds(condition, resolved));
        Assert.False(AllowHolds(condition, Context("k", Iot + "thing/t1")));
        Assert.False(AllowHolds(condition, Context("k", Iot + "thing/")));
        Assert.False(DenyApplies(condition, Context("k", Iot + "thing/")));
    }

    [Theory]
    [InlineData("StringNotEquals")]
    [InlineData("StringNotLike")]
    [InlineData("StringNotEqualsIgnoreCase")]
    [InlineData("ArnNotEquals")]
    [InlineData("ArnNotLike")]
    public void Negated_operators_fail_closed_on_an_unresolved_variable(string op)
    {
        var condition = $$$"""{"{{{op}}}": {"k": "arn:aws:iot:us-east-1:123456789012:thing/${iot:Connection.Thing.ThingName}"}}""";
        var unresolved = Context("k", Iot + "thing/other");

        Assert.False(AllowHolds(condition, unresolved));
        Assert.True(DenyApplies(condition, unresolved));
        var resolved = Context("k", Iot + "thing/other", "iot:Connection.Thing.ThingName", "t1");
        Assert.True(AllowHolds(condition, resolved));
        Assert.True(DenyApplies(condition, resolved));
    }

    [Fact]
    public void Negated_operator_with_a_defaulted_variable_is_resolved()
    {
        const string condition = """{"StringNotEquals": {"k": "${missing, 'x'}"}}""";

        Assert.True(AllowHolds(condition, Context("k", "y")));
        Assert.False(AllowHolds(condition, Context("k", "x")));
    }

    [Fact]
    public void Bool_substitutes_its_variable()
    {
        const string condition = """{"Bool": {"iot:Connection.Thing.IsAttached": "${expected}"}}""";

        Assert.True(AllowHolds(condition, Context("iot:Connection.Thing.IsAttached", "true", "expected", "TRUE")));
        Assert.False(AllowHolds(condition, Context("iot:Connection.Thing.IsAttached", "true", "expected", "false")));
        Assert.False(AllowHolds(condition, Context("iot:Connection.Thing.IsAttached", "true")));
    }
}
