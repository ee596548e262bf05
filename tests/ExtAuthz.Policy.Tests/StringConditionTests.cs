using static ExtAuthz.Policy.Tests.PolicyTestKit;

namespace ExtAuthz.Policy.Tests;

/// <summary>The String* operators (IAM reference_policies_elements_condition_operators, string section).</summary>
public sealed class StringConditionTests
{
    private static bool Holds(string op, string policyValues, string requestValue) =>
        AllowHolds(ConditionJson(op, "iot:ClientId", policyValues), Context("iot:ClientId", requestValue));

    [Theory]
    [InlineData("StringEquals", "\"dev1\"", "dev1", true)]
    [InlineData("StringEquals", "\"dev1\"", "DEV1", false)]
    [InlineData("StringEquals", "\"dev*\"", "dev1", false)]
    [InlineData("StringEquals", "\"dev*\"", "dev*", true)]
    [InlineData("StringNotEquals", "\"dev1\"", "dev1", false)]
    [InlineData("StringNotEquals", "\"dev1\"", "DEV1", true)]
    [InlineData("StringEqualsIgnoreCase", "\"Dev1\"", "dEV1", true)]
    [InlineData("StringEqualsIgnoreCase", "\"Dev1\"", "dev2", false)]
    [InlineData("StringEqualsIgnoreCase", "\"dev?\"", "devX", false)]
    [InlineData("StringNotEqualsIgnoreCase", "\"Dev1\"", "dEV1", false)]
    [InlineData("StringNotEqualsIgnoreCase", "\"Dev1\"", "dev2", true)]
    [InlineData("StringLike", "\"dev-*\"", "dev-1", true)]
    [InlineData("StringLike", "\"dev-*\"", "dev-", true)]
    [InlineData("StringLike", "\"dev-*\"", "DEV-1", false)]
    [InlineData("StringLike", "\"dev-?\"", "dev-12", false)]
    [InlineData("StringLike", "\"*:*\"", "us-east-1:abc", true)]
    [InlineData("StringLike", "\"a*c\"", "a/b/c", true)]
    [InlineData("StringNotLike", "\"dev-*\"", "dev-1", false)]
    [InlineData("StringNotLike", "\"dev-*\"", "prod-1", true)]
    public void Compares_as_each_operator_defines(string op, string policyValues, string requestValue, bool holds)
    {
        Assert.Equal(holds, Holds(op, policyValues, requestValue));
    }

    [Theory]
    [InlineData("StringEquals", "a", true)]
    [InlineData("StringEquals", "b", true)]
    [InlineData("StringEquals", "c", false)]
    [InlineData("StringLike", "a1", true)]
    [InlineData("StringLike", "b1", true)]
    [InlineData("StringLike", "c1", false)]
    public void Several_values_of_one_key_are_alternatives(string op, string requestValue, bool holds)
    {
        var values = op == "StringLike" ? """["a*", "b*"]""" : """["a", "b"]""";

        Assert.Equal(holds, Holds(op, values, requestValue));
    }

    [Theory]
    [InlineData("StringNotEquals", "a", false)]
    [InlineData("StringNotEquals", "b", false)]
    [InlineData("StringNotEquals", "c", true)]
    [InlineData("StringNotLike", "a1", false)]
    [InlineData("StringNotLike", "b1", false)]
    [InlineData("StringNotLike", "c1", true)]
    public void A_negated_operator_holds_only_when_no_value_matches(string op, string requestValue, bool holds)
    {
        var values = op == "StringNotLike" ? """["a*", "b*"]""" : """["a", "b"]""";

        Assert.Equal(holds, Holds(op, values, requestValue));
    }

    [Fact]
    public void An_empty_string_is_a_value_not_a_missing_key()
    {
        Assert.True(Holds("StringEquals", "\"\"", ""));
        Assert.False(Holds("StringEquals", "\"x\"", ""));
        Assert.True(Holds("StringNotEquals", "\"x\"", ""));
        Assert.False(Holds("StringNotEquals", "\"\"", ""));
        Assert.True(Holds("StringLike", "\"*\"", ""));
        Assert.False(AllowHolds("""{"Null": {"iot:ClientId": "true"}}""", Context("iot:ClientId", "")));
        Assert.True(AllowHolds("""{"StringEqualsIfExists": {"iot:ClientId": "x"}}""", new RequestContext()));
        Assert.False(AllowHolds("""{"StringEqualsIfExists": {"iot:ClientId": "x"}}""", Context("iot:ClientId", "")));
    }

    [Fact]
    public void Condition_key_names_are_case_insensitive()
    {
        Assert.True(AllowHolds("""{"StringEquals": {"IOT:CLIENTID": "dev1"}}""", Context("iot:ClientId", "dev1")));
    }

    [Fact]
    public void Values_can_be_compared_to_a_variable()
    {
        const string condition = """{"StringEquals": {"iot:Connection.Thing.ThingName": "${iot:ClientId}"}}""";

        Assert.True(AllowHolds(condition, Context("iot:ClientId", "t1", "iot:Connection.Thing.ThingName", "t1")));
        Assert.False(AllowHolds(condition, Context("iot:ClientId", "t1", "iot:Connection.Thing.ThingName", "t2")));
    }
}
