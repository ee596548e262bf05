using static ExtAuthz.Policy.Tests.PolicyTestKit;

namespace ExtAuthz.Policy.Tests;

/// <summary>
/// Values are checked when the policy is compiled: malformed policy variables, and condition values
/// their operator cannot read (IAM reference_policies_elements_condition_operators).
/// </summary>
public sealed class ValueValidationTests
{
    private static PolicyParseException ConditionError(string op, string value, string? version = CurrentVersion) =>
        StatementError($$$"""[{"Effect": "Allow", "Action": "iot:Publish", "Resource": "*", "Condition": {"{{{op}}}": {"k": ["{{{value}}}"]}} }]""", version);

    private static void Accepts(string op, string value) =>
        Assert.True(Doc($$$"""[{"Effect": "Allow", "Action": "iot:Publish", "Resource": "*", "Condition": {"{{{op}}}": {"k": ["{{{value}}}"]}} }]""").Statements[0].HasConditions);

    [Theory]
    [InlineData("topic/${iot:ClientId", "unterminated policy variable: '${' without a closing '}'")]
    [InlineData("topic/${}", "empty policy variable name: ${}")]
    [InlineData("topic/${ }", "empty policy variable name: ${}")]
    [InlineData("topic/${iot:ClientId, dev}", "policy variable '${iot:ClientId, …}': the default value must be in single quotes, as in ${iot:ClientId, 'value'}")]
    [InlineData("topic/${iot:ClientId, \\\"dev\\\"}", "policy variable '${iot:ClientId, …}': the default value must be in single quotes, as in ${iot:ClientId, 'value'}")]
    [InlineData("topic/${iot:ClientId, 'dev}", "policy variable '${iot:ClientId, …}': the default value's closing quote is missing")]
    [InlineData("topic/${iot:ClientId, 'dev' x}", "policy variable '${iot:ClientId, 'dev'}': expected '}' after the default value")]
    [InlineData("topic/${iot:ClientId, 'dev'", "policy variable '${iot:ClientId, 'dev'}': expected '}' after the default value")]
    public void Refuses_malformed_variables_in_resources(string resource, string reason)
    {
        var error = StatementError($$"""{"Effect": "Allow", "Action": "iot:Publish", "Resource": ["*", "{{Iot}}{{resource}}"]}""");

        Assert.Equal(("Statement.Resource[1]", reason), (error.Path, error.Reason));
    }

    [Theory]
    [InlineData("StringEquals")]
    [InlineData("StringNotLike")]
    [InlineData("ArnLike")]
    [InlineData("Bool")]
    public void Refuses_malformed_variables_in_condition_values(string op)
    {
        var error = ConditionError(op, "${aws:username");

        Assert.Equal(($"Statement[0].Condition.{op}.k[0]", "unterminated policy variable: '${' without a closing '}'"), (error.Path, error.Reason));
    }

    [Fact]
    public void Variable_syntax_is_plain_text_before_version_2012_10_17()
    {
        var policy = Doc($$$"""{"Effect": "Allow", "Action": "iot:Publish", "Resource": "{{{Iot}}}topic/${iot:ClientId", "Condition": {"StringEquals": {"k": "${}"}} }""", version: "2008-10-17");

        Assert.Equal([Iot + "topic/${iot:ClientId"], policy.Statements[0].Resources);
    }

    [Theory]
    [InlineData("NumericEquals", "abc")]
    [InlineData("NumericLessThan", "")]
    [InlineData("NumericGreaterThanEquals", "1,000")]
    [InlineData("NumericNotEquals", "0x10")]
    [InlineData("NumericLessThanEqualsIfExists", "ten")]
    [InlineData("ForAnyValue:NumericGreaterThan", "1 ")]
    public void Refuses_non_numeric_values_for_numeric_operators(string op, string value)
    {
        var error = ConditionError(op, value);

        Assert.Equal($"Statement[0].Condition.{op}.k[0]", error.Path);
        Assert.EndsWith($"needs a number, not '{value}'", error.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("-3")]
    [InlineData("2.5")]
    [InlineData("1e3")]
    public void Accepts_integers_and_decimals_for_numeric_operators(string value) => Accepts("NumericEquals", value);

    [Theory]
    [InlineData("not-a-date")]
    [InlineData("2020-13-01T00:00:00Z")]
    [InlineData("2020-02-30")]
    [InlineData("1/2/2020")]
    [InlineData("Jan 2, 2020")]
    [InlineData("")]
    public void Refuses_bad_dates(string value)
    {
        var error = ConditionError("DateGreaterThan", value);

        Assert.Equal($"DateGreaterThan needs an ISO 8601 date or epoch seconds, not '{value}'", error.Reason);
    }

    [Theory]
    [InlineData("2020-01-01")]
    [InlineData("2020-01-01T00:00:00Z")]
    [InlineData("2020-01-01T02:00:00+02:00")]
    [InlineData("1577836800")]
    public void Accepts_iso_8601_dates_and_epoch_seconds(string value) => Accepts("DateEquals", value);

    [Theory]
    [InlineData("10.0.0.0/33")]
    [InlineData("10.0.0.300")]
    [InlineData("10.0.0.0/")]
    [InlineData("10.0.0.0/-1")]
    [InlineData("10.0.0.0/8/8")]
    [InlineData("2001:db8::/129")]
    [InlineData("fe80::1%1")]
    [InlineData("example.com")]
    [InlineData("10/8")]
    [InlineData("10.1")]
    public void Refuses_bad_addresses_and_cidr_blocks(string value)
    {
        var error = ConditionError("NotIpAddress", value);

        Assert.Equal($"NotIpAddress needs an IPv4 or IPv6 address or CIDR block, not '{value}'", error.Reason);
    }

    [Theory]
    [InlineData("203.0.113.0/24")]
    [InlineData("203.0.113.7")]
    [InlineData("0.0.0.0/0")]
    [InlineData("2001:db8::/32")]
    [InlineData("::1")]
    public void Accepts_ipv4_and_ipv6_blocks(string value) => Accepts("IpAddress", value);

    [Theory]
    [InlineData("not base64!")]
    [InlineData("QUJ")]
    public void Refuses_values_that_are_not_base64(string value)
    {
        var error = ConditionError("BinaryEquals", value);

        Assert.Equal($"BinaryEquals needs a base-64 value, not '{value}'", error.Reason);
    }

    [Theory]
    [InlineData("yes")]
    [InlineData("1")]
    [InlineData("")]
    [InlineData("truee")]
    public void Bool_takes_only_true_or_false(string value)
    {
        var error = ConditionError("Bool", value);

        Assert.Equal($"Bool needs \"true\" or \"false\", not '{value}'", error.Reason);
    }

    [Theory]
    [InlineData("yes")]
    [InlineData("absent")]
    [InlineData("")]
    public void Null_takes_only_true_or_false(string value)
    {
        var error = ConditionError("Null", value);

        Assert.Equal($"Null needs \"true\" (key absent) or \"false\" (key present), not '{value}'", error.Reason);
    }

    [Theory]
    [InlineData("NumericEquals", "NumericEquals needs a number, not '${n}' (policy variables work only with String, Arn and Bool operators)")]
    [InlineData("DateLessThan", "DateLessThan needs an ISO 8601 date or epoch seconds, not '${n}' (policy variables work only with String, Arn and Bool operators)")]
    [InlineData("IpAddress", "IpAddress needs an IPv4 or IPv6 address or CIDR block, not '${n}' (policy variables work only with String, Arn and Bool operators)")]
    [InlineData("BinaryEquals", "BinaryEquals needs a base-64 value, not '${n}' (policy variables work only with String, Arn and Bool operators)")]
    public void Explains_that_variables_do_not_work_with_non_string_operators(string op, string reason)
    {
        Assert.Equal(reason, ConditionError(op, "${n}").Reason);
    }

    [Fact]
    public void Does_not_mention_variables_when_they_are_disabled()
    {
        Assert.Equal("NumericEquals needs a number, not '${n}'", ConditionError("NumericEquals", "${n}", version: null).Reason);
    }

    [Fact]
    public void Bool_accepts_a_variable_as_its_value()
    {
        var policy = Doc("""{"Effect": "Allow", "Action": "iot:Publish", "Resource": "*", "Condition": {"Bool": {"k": "${flag}"}}}""");

        Assert.Equal(["flag", "k"], policy.Statements[0].ReferencedKeys.Order(StringComparer.Ordinal));
    }
}
