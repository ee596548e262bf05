using static ExtAuthz.Policy.Tests.PolicyTestKit;

namespace ExtAuthz.Policy.Tests;

/// <summary>
/// Policy text is strict JSON (RFC 8259), as AWS reads it: no comments, no trailing commas, only
/// space/tab/CR/LF as whitespace, one value per document. Duplicate keys are refused as ambiguous.
/// </summary>
public sealed class StrictJsonTests
{
    private const string Statement = """{"Effect": "Allow", "Action": "iot:Publish", "Resource": "*"}""";

    [Fact]
    public void Accepts_tabs_carriage_returns_and_a_byte_order_mark()
    {
        var policy = PolicyParser.Parse("p1", "\uFEFF{\t\"Version\":\r\n\"2012-10-17\",\n\"Statement\": " + Statement + "}\r\n");

        Assert.Equal("2012-10-17", policy.Version);
    }

    [Fact]
    public void Refuses_a_trailing_comma_in_an_object()
    {
        var error = ParseError("{\"Statement\": " + Statement + ",\n}");

        Assert.Equal("trailing comma (JSON allows none)", error.Reason);
        Assert.Equal((2, 1), (error.Line, error.Column));
    }

    [Fact]
    public void Refuses_a_trailing_comma_in_an_array()
    {
        var error = ParseError("""{"Statement": [""" + Statement + ",]}");

        Assert.Equal("trailing comma (JSON allows none)", error.Reason);
        Assert.Equal(1, error.Line);
    }

    [Theory]
    [InlineData("// a comment\n")]
    [InlineData("/* a comment */")]
    public void Refuses_comments(string comment)
    {
        var error = ParseError("{" + comment + "\"Statement\": " + Statement + "}");

        Assert.Equal("comments are not allowed in JSON", error.Reason);
        Assert.Equal((1, 2), (error.Line, error.Column));
    }

    [Fact]
    public void Refuses_a_comment_after_a_value()
    {
        var error = ParseError("{\"Id\": \"x\",\n  \"Statement\": " + Statement + " /* allow publish */\n}");

        Assert.Equal("comments are not allowed in JSON", error.Reason);
        Assert.Equal(2, error.Line);
        Assert.Equal(17 + Statement.Length, error.Column);
    }

    [Fact]
    public void Refuses_a_no_break_space_as_whitespace()
    {
        var error = ParseError("{\n  \"Statement\":\u00A0" + Statement + "}");

        Assert.Equal("invalid character (a no-break space U+00A0 is not JSON whitespace)", error.Reason);
        Assert.Equal((2, 15), (error.Line, error.Column));
    }

    [Fact]
    public void Refuses_a_second_top_level_value()
    {
        var error = ParseError("{\"Statement\": " + Statement + "}\n{}");

        Assert.Equal(2, error.Line);
        Assert.Equal(1, error.Column);
        Assert.StartsWith("'{' is invalid after a single JSON value", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_a_duplicate_document_key_at_the_second_occurrence()
    {
        var error = ParseError("{\"Statement\": " + Statement + ",\n \"Statement\": " + Statement + "}");

        Assert.Equal(("Statement", "duplicate key 'Statement' (ambiguous, so refused)"), (error.Path, error.Reason));
        Assert.Equal((2, 2), (error.Line, error.Column));
    }

    [Fact]
    public void Refuses_a_duplicate_statement_key()
    {
        var error = ParseError("""{"Statement": [{"Effect": "Allow", "Action": "iot:Publish", "Resource": "*", "Effect": "Deny"}]}""");

        Assert.Equal(("Statement[0].Effect", "duplicate key 'Effect' (ambiguous, so refused)"), (error.Path, error.Reason));
    }

    [Fact]
    public void Refuses_a_duplicate_condition_key()
    {
        var error = StatementError("""
            {"Effect": "Allow", "Action": "iot:Publish", "Resource": "*",
             "Condition": {"StringEquals": {"iot:ClientId": "a", "iot:ClientId": "b"}}}
            """);

        Assert.Equal("Statement.Condition.StringEquals.iot:ClientId", error.Path);
        Assert.Equal("duplicate key 'iot:ClientId' (ambiguous, so refused)", error.Reason);
    }

    [Fact]
    public void Keys_differing_only_in_case_are_not_duplicates_but_the_wrong_case_is_refused()
    {
        var error = ParseError("{\"Statement\": [{\"Effect\": \"Allow\", \"effect\": \"Deny\", \"Action\": \"iot:Publish\", \"Resource\": \"*\"}]}");

        Assert.Equal("Statement[0].effect", error.Path);
        Assert.StartsWith("unknown statement element 'effect'", error.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Refuses_an_empty_document(string json)
    {
        var error = ParseError(json);

        Assert.Equal("p1", error.PolicyName);
        Assert.Equal("", error.Path);
        Assert.StartsWith("the input does not contain any JSON tokens", error.Reason, StringComparison.Ordinal);
        Assert.Equal((1, json.Length + 1), (error.Line, error.Column));
    }

    [Theory]
    [InlineData("{'Statement': []}")]
    [InlineData("{Statement: []}")]
    [InlineData("{\"Statement\": [")]
    [InlineData("{\"Statement\": [], \"Id\": \"x\"")]
    [InlineData("{\"Id\": \"a\u0001\"}")]
    [InlineData("{\"Id\": 01}")]
    public void Refuses_other_invalid_json_with_a_position(string json)
    {
        var error = ParseError(json);

        Assert.Equal(1, error.Line);
        Assert.InRange(error.Column, 2, json.Length + 1);
        Assert.NotEmpty(error.Reason);
        Assert.DoesNotContain("LineNumber", error.Reason, StringComparison.Ordinal);
    }
}
