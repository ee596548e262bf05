using static ExtAuthz.Policy.Tests.PolicyTestKit;

namespace ExtAuthz.Policy.Tests;

/// <summary>A refused document names the policy, the JSON path, the 1-based line and column, and a plain reason.</summary>
public sealed class ParseErrorLocationTests
{
    private const string UnknownOperator = """
        {
          "Version": "2012-10-17",
          "Statement": [
            {"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"},
            {
              "Effect": "Allow",
              "Action": "iot:Publish",
              "Resource": "*",
              "Condition": {
                "StringSortOf": {"iot:ClientId": "a"}
              }
            }
          ]
        }
        """;

    [Fact]
    public void Names_policy_path_line_column_and_reason()
    {
        var error = ParseError(UnknownOperator, name: "device-policy");

        Assert.Equal("device-policy", error.PolicyName);
        Assert.Equal("Statement[1].Condition.StringSortOf", error.Path);
        Assert.Equal(10, error.Line);
        Assert.Equal(9, error.Column);
        Assert.Equal("unknown condition operator", error.Reason);
        Assert.Equal("device-policy: Statement[1].Condition.StringSortOf (line 10, column 9): unknown condition operator", error.Message);
    }

    [Fact]
    public void Points_at_the_offending_value()
    {
        const string json = """
            {"Statement": [
              {"Effect": "Allow",
               "Action": ["iot:Publish",
                          "Publish"],
               "Resource": "*"}]}
            """;

        var error = ParseError(json);

        Assert.Equal(("Statement[0].Action[1]", 4, 15), (error.Path, error.Line, error.Column));
    }

    [Fact]
    public void Points_at_a_condition_value_inside_an_array()
    {
        const string json = """
            {"Statement": {"Effect": "Allow", "Action": "iot:Publish", "Resource": "*",
              "Condition": {"NumericLessThan": {"iot:Qos": ["1", "one"]}}}}
            """;

        var error = ParseError(json);

        Assert.Equal(("Statement.Condition.NumericLessThan.iot:Qos[1]", 2, 54), (error.Path, error.Line, error.Column));
        Assert.Equal("NumericLessThan needs a number, not 'one'", error.Reason);
    }

    [Fact]
    public void Counts_columns_in_characters_not_bytes()
    {
        var error = ParseError("""{"Id": "é€", "Bogus": 1, "Statement": []}""");

        Assert.Equal(("Bogus", 1, 14), (error.Path, error.Line, error.Column));
    }

    [Fact]
    public void Counts_columns_in_characters_for_json_syntax_errors_too()
    {
        var error = ParseError("{\"Id\": \"é€\",\u00A0\"Statement\": []}");

        Assert.Equal((1, 13), (error.Line, error.Column));
    }

    [Fact]
    public void A_document_error_without_path_still_has_a_position()
    {
        var error = ParseError("{\n  \"Version\": \"2012-10-17\"\n}");

        Assert.Equal(("", 1, 1), (error.Path, error.Line, error.Column));
        Assert.Equal("p1: line 1, column 1: the document has no Statement", error.Message);
    }
}
