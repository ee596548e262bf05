using static ExtAuthz.Policy.Tests.PolicyTestKit;

namespace ExtAuthz.Policy.Tests;

/// <summary>The abuse limits of <see cref="PolicyLimits"/>: each is enforced at exactly its bound.</summary>
public sealed class PolicyLimitsTests
{
    private const string Statement = """{"Effect": "Allow", "Action": "iot:Publish", "Resource": "*"}""";

    private static string Document(string statements) => $$"""{"Statement": {{statements}}}""";

    private static string Statements(int count) => "[" + string.Join(", ", Enumerable.Repeat(Statement, count)) + "]";

    [Fact]
    public void Defaults_are_far_above_aws_limits()
    {
        var limits = PolicyLimits.Default;

        Assert.Equal((256 * 1024, 16, 1000, 1000, 256), (limits.MaxDocumentLength, limits.MaxDepth, limits.MaxStatements, limits.MaxValuesPerElement, limits.MaxConditionKeys));
    }

    [Fact]
    public void Document_length_is_limited_in_characters()
    {
        var json = Document(Statement);
        var exact = new PolicyLimits { MaxDocumentLength = json.Length };
        var smaller = new PolicyLimits { MaxDocumentLength = json.Length - 1 };

        Assert.Equal("p1", PolicyParser.Parse("p1", json, exact).Name);
        var error = ParseError(json, limits: smaller);
        Assert.Equal(("", 0, 0), (error.Path, error.Line, error.Column));
        Assert.Equal($"the document has {json.Length} characters; the limit is {json.Length - 1}", error.Reason);
        Assert.Equal($"p1: the document has {json.Length} characters; the limit is {json.Length - 1}", error.Message);
    }

    [Fact]
    public void Nesting_depth_is_limited()
    {
        // Document, Statement array, statement, Condition, operator: five levels; an array of values is the sixth.
        const string scalarValue = """{"Statement": [{"Effect": "Allow", "Action": "iot:Publish", "Resource": "*", "Condition": {"StringEquals": {"k": "v"}}}]}""";
        const string arrayValue = """{"Statement": [{"Effect": "Allow", "Action": "iot:Publish", "Resource": "*", "Condition": {"StringEquals": {"k": ["v"]}}}]}""";
        var limits = new PolicyLimits { MaxDepth = 5 };

        Assert.Single(PolicyParser.Parse("p1", scalarValue, limits).Statements);
        var error = ParseError(arrayValue, limits: limits);
        Assert.Equal("nesting deeper than 5 levels", error.Reason);
        Assert.Equal(1, error.Line);
        Assert.Equal(arrayValue.IndexOf("[\"v\"]", StringComparison.Ordinal) + 1, error.Column);
    }

    [Fact]
    public void Deeply_nested_garbage_is_refused_by_the_default_depth()
    {
        var json = "{\"Id\": " + new string('[', 100) + new string(']', 100) + "}";

        Assert.Equal("nesting deeper than 16 levels", ParseError(json).Reason);
    }

    [Fact]
    public void Statement_count_is_limited()
    {
        var limits = new PolicyLimits { MaxStatements = 3 };

        Assert.Equal(3, PolicyParser.Parse("p1", Document(Statements(3)), limits).Statements.Count);
        var error = ParseError(Document(Statements(4)), limits: limits);
        Assert.Equal(("Statement", "4 statements; the limit is 3"), (error.Path, error.Reason));
    }

    [Theory]
    [InlineData("""{"Effect": "Allow", "Action": ["iot:A", "iot:B", "iot:C"], "Resource": "*"}""", "Statement.Action")]
    [InlineData("""{"Effect": "Allow", "NotAction": ["iot:A", "iot:B", "iot:C"], "Resource": "*"}""", "Statement.NotAction")]
    [InlineData("""{"Effect": "Allow", "Action": "iot:A", "Resource": ["*", "*", "*"]}""", "Statement.Resource")]
    [InlineData("""{"Effect": "Allow", "Action": "iot:A", "Resource": "*", "Condition": {"StringLike": {"k": ["a", "b", "c"]}}}""", "Statement.Condition.StringLike.k")]
    [InlineData("""{"Effect": "Allow", "Action": "iot:A", "Resource": "*", "Condition": {"ForAnyValue:StringLike": {"k": ["a", "b", "c"]}}}""", "Statement.Condition.ForAnyValue:StringLike.k")]
    public void Values_per_element_are_limited(string statement, string path)
    {
        var limits = new PolicyLimits { MaxValuesPerElement = 2 };

        var error = ParseError(Document(statement), limits: limits);

        Assert.Equal((path, "3 values; the limit is 2"), (error.Path, error.Reason));
        Assert.Single(PolicyParser.Parse("p1", Document(statement.Replace(", \"c\"", "", StringComparison.Ordinal).Replace(", \"iot:C\"", "", StringComparison.Ordinal).Replace(", \"*\", \"*\"", ", \"*\"", StringComparison.Ordinal)), limits).Statements);
    }

    [Fact]
    public void Condition_keys_are_counted_across_operators_of_one_statement()
    {
        const string twoKeys = """{"Effect": "Allow", "Action": "iot:A", "Resource": "*", "Condition": {"StringEquals": {"a": "1"}, "StringLike": {"b": "2"}}}""";
        const string threeKeys = """{"Effect": "Allow", "Action": "iot:A", "Resource": "*", "Condition": {"StringEquals": {"a": "1"}, "StringLike": {"b": "2", "c": "3"}}}""";
        var limits = new PolicyLimits { MaxConditionKeys = 2 };

        Assert.Equal(2, PolicyParser.Parse("p1", Document($"[{twoKeys}, {twoKeys}]"), limits).Statements.Count);
        var error = ParseError(Document(threeKeys), limits: limits);
        Assert.Equal(("Statement.Condition.StringLike.c", "more than 2 condition keys in one statement"), (error.Path, error.Reason));
    }
}
