using static ExtAuthz.Policy.Tests.PolicyTestKit;

namespace ExtAuthz.Policy.Tests;

/// <summary>
/// The shape of a policy document: Version, Id, Statement, and the elements of a statement.
/// AWS: IAM reference_policies_elements_version, _effect, _action, _notaction, _resource, _notresource.
/// </summary>
public sealed class DocumentParsingTests
{
    private const string Publish = """{"Effect": "Allow", "Action": "iot:Publish", "Resource": "*"}""";

    [Theory]
    [InlineData("2012-10-17")]
    [InlineData("2008-10-17")]
    public void Accepts_both_published_versions(string version)
    {
        var policy = Doc(Publish, version);

        Assert.Equal(version, policy.Version);
        Assert.Equal(version == "2012-10-17", policy.VariablesEnabled);
    }

    [Fact]
    public void Accepts_a_document_without_version_and_disables_variables()
    {
        var policy = Doc(Publish, version: null);

        Assert.Null(policy.Version);
        Assert.False(policy.VariablesEnabled);
    }

    [Theory]
    [InlineData("2012-10-18")]
    [InlineData("2012-10-17 ")]
    [InlineData("")]
    public void Refuses_an_unknown_version(string version)
    {
        var error = StatementError(Publish, version);

        Assert.Equal("Version", error.Path);
        Assert.StartsWith($"unsupported Version '{version}'", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_a_version_that_is_not_a_string()
    {
        var error = ParseError("""{"Version": 2012, "Statement": []}""");

        Assert.Equal("Version", error.Path);
        Assert.Equal("Version must be a string, not a number", error.Reason);
    }

    [Fact]
    public void Keeps_id_name_text_and_statement_elements()
    {
        const string json = """
            {"Version": "2012-10-17", "Id": "device-policy", "Statement": [
              {"Sid": "First", "Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": "arn:aws:iot:us-east-1:123456789012:topic/a"},
              {"Effect": "Deny", "NotAction": "iot:Connect", "NotResource": ["arn:aws:iot:us-east-1:123456789012:client/c1"]}]}
            """;

        var policy = PolicyParser.Parse("dev", json);

        Assert.Equal("dev", policy.Name);
        Assert.Equal("device-policy", policy.Id);
        Assert.Equal(json, policy.Text);
        Assert.Equal(2, policy.Statements.Count);
        var first = policy.Statements[0];
        Assert.Equal((0, "First", Effect.Allow, false, false), (first.Index, first.Sid, first.Effect, first.NotAction, first.NotResource));
        Assert.Equal(["iot:Publish", "iot:Receive"], first.Actions);
        Assert.Equal(["arn:aws:iot:us-east-1:123456789012:topic/a"], first.Resources);
        Assert.Same(policy, first.Policy);
        var second = policy.Statements[1];
        Assert.Equal((1, null, Effect.Deny, true, true), (second.Index, second.Sid, second.Effect, second.NotAction, second.NotResource));
        Assert.Equal(["iot:Connect"], second.Actions);
    }

    [Fact]
    public void Accepts_a_single_statement_object()
    {
        var policy = Doc("""{"Sid": "Only", "Effect": "Deny", "Action": "iot:*", "Resource": "*"}""");

        var statement = Assert.Single(policy.Statements);
        Assert.Equal((0, "Only", Effect.Deny), (statement.Index, statement.Sid, statement.Effect));
    }

    [Theory]
    [InlineData("[]", "Statement", "Statement is empty; a policy needs at least one statement")]
    [InlineData("\"x\"", "Statement", "Statement must be an object or an array of objects, not a string")]
    [InlineData("[1]", "Statement[0]", "a statement must be an object, not a number")]
    public void Refuses_a_malformed_statement_list(string statements, string path, string reason)
    {
        var error = StatementError(statements);

        Assert.Equal((path, reason), (error.Path, error.Reason));
    }

    [Fact]
    public void Refuses_a_document_without_statement()
    {
        var error = ParseError("""{"Version": "2012-10-17"}""");

        Assert.Equal(("", "the document has no Statement"), (error.Path, error.Reason));
    }

    [Fact]
    public void Refuses_a_document_that_is_not_an_object()
    {
        var error = ParseError("[]");

        Assert.Equal("a policy document must be a JSON object, not an array", error.Reason);
    }

    [Theory]
    [InlineData("allow")]
    [InlineData("DENY")]
    [InlineData("Permit")]
    public void Effect_is_case_sensitive(string effect)
    {
        var error = StatementError($$"""[{"Effect": "{{effect}}", "Action": "iot:Publish", "Resource": "*"}]""");

        Assert.Equal("Statement[0].Effect", error.Path);
        Assert.Equal($"Effect must be \"Allow\" or \"Deny\" (case-sensitive), not \"{effect}\"", error.Reason);
    }

    [Theory]
    [InlineData("""{"Action": "iot:Publish", "Resource": "*"}""", "the statement has no Effect")]
    [InlineData("""{"Effect": "Allow", "Resource": "*"}""", "the statement has neither Action nor NotAction")]
    [InlineData("""{"Effect": "Allow", "Action": "iot:Publish"}""", "the statement has neither Resource nor NotResource (identity and IoT policies need one)")]
    public void Refuses_a_statement_missing_a_required_element(string statement, string reason)
    {
        var error = StatementError($"[{Publish}, {statement}]");

        Assert.Equal(("Statement[1]", reason), (error.Path, error.Reason));
    }

    [Theory]
    [InlineData("\"Action\": \"iot:Publish\", \"NotAction\": \"iot:Connect\", \"Resource\": \"*\"", "Statement[0].NotAction", "a statement has either Action or NotAction, not both")]
    [InlineData("\"Action\": \"iot:Publish\", \"Resource\": \"*\", \"NotResource\": \"*\"", "Statement[0].NotResource", "a statement has either Resource or NotResource, not both")]
    public void Refuses_both_an_element_and_its_negation(string elements, string path, string reason)
    {
        var error = StatementError($$"""[{"Effect": "Allow", {{elements}}}]""");

        Assert.Equal((path, reason), (error.Path, error.Reason));
    }

    [Theory]
    [InlineData("Action", "[]", "Statement[0].Action", "Action is empty")]
    [InlineData("Action", "\"\"", "Statement[0].Action", "Action has an empty string")]
    [InlineData("Action", "[\"iot:Publish\", 3]", "Statement[0].Action[1]", "Action must be a string or an array of strings; found a number")]
    [InlineData("Action", "{\"a\": 1}", "Statement[0].Action", "Action must be a string or an array of strings; found an object")]
    [InlineData("Resource", "[]", "Statement[0].Resource", "Resource is empty")]
    [InlineData("Resource", "[\"*\", null]", "Statement[0].Resource[1]", "Resource must be a string or an array of strings; found null")]
    public void Action_and_resource_take_a_non_empty_string_or_array_of_strings(string element, string value, string path, string reason)
    {
        var other = element == "Action" ? "\"Resource\": \"*\"" : "\"Action\": \"iot:Publish\"";
        var error = StatementError($$"""[{"Effect": "Allow", {{other}}, "{{element}}": {{value}}}]""");

        Assert.Equal((path, reason), (error.Path, error.Reason));
    }

    [Theory]
    [InlineData("Publish")]
    [InlineData("iot:")]
    [InlineData(":Publish")]
    [InlineData("io*:Publish")]
    public void Refuses_a_malformed_action(string action)
    {
        var error = StatementError($$"""{"Effect": "Allow", "Action": ["iot:Connect", "{{action}}"], "Resource": "*"}""");

        Assert.Equal("Statement.Action[1]", error.Path);
        Assert.StartsWith($"action '{action}'", error.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("topic/a")]
    [InlineData("arn:aws:iot:us-east-1:topic/a")]
    [InlineData("ARN:aws:iot:us-east-1:123456789012:topic/a")]
    public void Refuses_a_resource_that_is_neither_star_nor_an_arn(string resource)
    {
        var error = StatementError($$"""{"Effect": "Allow", "Action": "iot:Publish", "Resource": "{{resource}}"}""");

        Assert.Equal("Statement.Resource", error.Path);
        Assert.Equal($"resource '{resource}' must be '*' or an ARN (arn:partition:service:region:account-id:resource)", error.Reason);
    }

    [Theory]
    [InlineData("Principal")]
    [InlineData("NotPrincipal")]
    public void Refuses_principal_elements(string element)
    {
        var error = StatementError($$"""[{"Effect": "Allow", "{{element}}": {"AWS": "*"}, "Action": "iot:Publish", "Resource": "*"}]""");

        Assert.Equal($"Statement[0].{element}", error.Path);
        Assert.Equal($"{element} is not allowed: identity and AWS IoT policies apply to whoever they are attached to", error.Reason);
    }

    [Theory]
    [InlineData("effect", "unknown statement element 'effect' (element names are case-sensitive: 'Effect')")]
    [InlineData("RESOURCE", "unknown statement element 'RESOURCE' (element names are case-sensitive: 'Resource')")]
    [InlineData("Comment", "unknown statement element 'Comment' (expected one of Sid, Effect, Action, NotAction, Resource, NotResource, Condition)")]
    public void Refuses_unknown_or_wrongly_cased_statement_elements(string element, string reason)
    {
        var error = StatementError($$"""[{"Effect": "Allow", "Action": "iot:Publish", "Resource": "*", "{{element}}": "x"}]""");

        Assert.Equal(($"Statement[0].{element}", reason), (error.Path, error.Reason));
    }

    [Theory]
    [InlineData("version", "unknown policy element 'version' (element names are case-sensitive: 'Version')")]
    [InlineData("Statements", "unknown policy element 'Statements' (expected one of Version, Id, Statement)")]
    public void Refuses_unknown_or_wrongly_cased_document_elements(string element, string reason)
    {
        var error = ParseError($$"""{"{{element}}": "x", "Statement": {{Publish}}}""");

        Assert.Equal((element, reason), (error.Path, error.Reason));
    }

    [Theory]
    [InlineData("""{"Sid": 1, "Effect": "Allow", "Action": "iot:Publish", "Resource": "*"}""", "Statement[0].Sid", "Sid must be a string, not a number")]
    [InlineData("""{"Effect": true, "Action": "iot:Publish", "Resource": "*"}""", "Statement[0].Effect", "Effect must be a string, not a boolean")]
    public void Sid_and_effect_must_be_strings(string statement, string path, string reason)
    {
        var error = StatementError($"[{statement}]");

        Assert.Equal((path, reason), (error.Path, error.Reason));
    }

    [Fact]
    public void Refuses_an_id_that_is_not_a_string()
    {
        var error = ParseError($$"""{"Id": ["a"], "Statement": {{Publish}}}""");

        Assert.Equal(("Id", "Id must be a string, not an array"), (error.Path, error.Reason));
    }

    [Theory]
    [InlineData("StringSortOf", "unknown condition operator")]
    [InlineData("ForAllValues:Null", "Null cannot take ForAllValues or ForAnyValue")]
    [InlineData("ForAnyValue:Null", "Null cannot take ForAllValues or ForAnyValue")]
    [InlineData("NullIfExists", "Null cannot take IfExists (Null already tests for presence)")]
    [InlineData("ForSomeValues:StringEquals", "unknown condition operator")]
    [InlineData("StringEqualsIfExist", "unknown condition operator")]
    public void Refuses_unknown_or_impossible_condition_operators(string op, string reason)
    {
        var error = StatementError($$$"""[{{{Publish}}}, {"Effect": "Allow", "Action": "iot:Publish", "Resource": "*", "Condition": {"{{{op}}}": {"iot:ClientId": "true"}} }]""");

        Assert.Equal(($"Statement[1].Condition.{op}", reason), (error.Path, error.Reason));
    }

    [Theory]
    [InlineData("\"x\"", "Statement.Condition", "Condition must be an object of operators, not a string")]
    [InlineData("{\"StringEquals\": []}", "Statement.Condition.StringEquals", "StringEquals must map condition keys to values, not be an array")]
    [InlineData("{\"StringEquals\": {}}", "Statement.Condition.StringEquals", "StringEquals names no condition key")]
    [InlineData("{\"StringEquals\": {\"\": \"a\"}}", "Statement.Condition.StringEquals.", "empty condition key")]
    [InlineData("{\"StringEquals\": {\"k\": []}}", "Statement.Condition.StringEquals.k", "an empty value list matches nothing; only ForAllValues/ForAnyValue take []")]
    [InlineData("{\"StringEquals\": {\"k\": {\"a\": 1}}}", "Statement.Condition.StringEquals.k", "a condition value must be a string, number or boolean, not an object")]
    [InlineData("{\"StringEquals\": {\"k\": [\"a\", null]}}", "Statement.Condition.StringEquals.k[1]", "a condition value must be a string, number or boolean, not null")]
    public void Refuses_a_malformed_condition_block(string condition, string path, string reason)
    {
        var error = StatementError($$"""{"Effect": "Allow", "Action": "iot:Publish", "Resource": "*", "Condition": {{condition}}}""");

        Assert.Equal((path, reason), (error.Path, error.Reason));
    }

    [Fact]
    public void Set_operators_accept_an_empty_value_list()
    {
        var policy = Doc("""{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*", "Condition": {"ForAllValues:StringEquals": {"iot:ConnectAttributes": []}}}""");

        Assert.True(Assert.Single(policy.Statements).HasConditions);
    }

    [Fact]
    public void Condition_values_may_be_json_numbers_and_booleans()
    {
        var policy = Doc("""
            {"Effect": "Allow", "Action": "iot:Publish", "Resource": "*",
             "Condition": {"NumericLessThan": {"n": 10}, "Bool": {"b": true}}}
            """);

        var request = Request("iot:Publish", Iot + "topic/t", Context("n", "9", "b", "true"));
        Assert.Equal(DecisionKind.Allowed, PolicyEvaluator.Decide(PolicySet.Create(policy), request).Kind);
        Assert.Equal(DecisionKind.ImplicitDeny, Decide(policy, "iot:Publish", Iot + "topic/t", Context("n", "10", "b", "true")).Kind);
    }

    [Fact]
    public void TryParse_returns_the_error_instead_of_throwing()
    {
        Assert.False(PolicyParser.TryParse("bad", "{}", out var policy, out var error));
        Assert.Null(policy);
        Assert.Equal("bad", error!.PolicyName);

        Assert.True(PolicyParser.TryParse("good", $$"""{"Statement": {{Publish}}}""", out policy, out error));
        Assert.Null(error);
        Assert.Equal("good", policy!.Name);
    }
}
