using static ExtAuthz.Policy.Tests.PolicyTestKit;

namespace ExtAuthz.Policy.Tests;

/// <summary>
/// How conditions combine (IAM reference_policies_multi-value-conditions, reference_policies_elements_condition_operators):
/// keys and operators AND, values OR; a missing key fails positive operators and satisfies negated ones;
/// …IfExists passes on a missing key; ForAllValues/ForAnyValue over multi-valued keys.
/// </summary>
public sealed class ConditionLogicTests
{
    /// <summary>Every operator (without IfExists) with a policy value it accepts and a request value that value matches.</summary>
    public static TheoryData<string, string, string> Operators => new()
    {
        { "StringEquals", "a", "a" },
        { "StringNotEquals", "a", "b" },
        { "StringEqualsIgnoreCase", "a", "A" },
        { "StringNotEqualsIgnoreCase", "a", "b" },
        { "StringLike", "a*", "ab" },
        { "StringNotLike", "a*", "b" },
        { "NumericEquals", "1", "1" },
        { "NumericNotEquals", "1", "2" },
        { "NumericLessThan", "1", "0" },
        { "NumericLessThanEquals", "1", "1" },
        { "NumericGreaterThan", "1", "2" },
        { "NumericGreaterThanEquals", "1", "1" },
        { "DateEquals", "2020-01-01T00:00:00Z", "1577836800" },
        { "DateNotEquals", "2020-01-01T00:00:00Z", "1" },
        { "DateLessThan", "2020-01-01T00:00:00Z", "1" },
        { "DateLessThanEquals", "2020-01-01T00:00:00Z", "1577836800" },
        { "DateGreaterThan", "2020-01-01T00:00:00Z", "1577836801" },
        { "DateGreaterThanEquals", "2020-01-01T00:00:00Z", "1577836800" },
        { "Bool", "true", "true" },
        { "BinaryEquals", "QUJD", "QUJD" },
        { "IpAddress", "10.0.0.0/8", "10.1.1.1" },
        { "NotIpAddress", "10.0.0.0/8", "11.1.1.1" },
        { "ArnEquals", "arn:aws:iot:us-east-1:123456789012:topic/a", "arn:aws:iot:us-east-1:123456789012:topic/a" },
        { "ArnLike", "arn:aws:iot:*:123456789012:topic/*", "arn:aws:iot:us-east-1:123456789012:topic/a" },
        { "ArnNotEquals", "arn:aws:iot:us-east-1:123456789012:topic/a", "arn:aws:iot:us-east-1:123456789012:topic/b" },
        { "ArnNotLike", "arn:aws:iot:*:123456789012:topic/a*", "arn:aws:iot:us-east-1:123456789012:topic/b" },
    };

    private static bool IsNegated(string op) => op.Contains("Not", StringComparison.Ordinal);

    private static string One(string op, string value) => ConditionJson(op, "k", $"\"{value}\"");

    [Theory]
    [MemberData(nameof(Operators))]
    public void Every_operator_holds_for_its_matching_value(string op, string policyValue, string requestValue)
    {
        Assert.True(AllowHolds(One(op, policyValue), Context("k", requestValue)));
        Assert.True(DenyApplies(One(op, policyValue), Context("k", requestValue)));
    }

    [Theory]
    [MemberData(nameof(Operators))]
    public void A_missing_key_fails_positive_operators_and_satisfies_negated_ones(string op, string policyValue, string requestValue)
    {
        _ = requestValue;
        var expected = IsNegated(op);

        Assert.Equal(expected, AllowHolds(One(op, policyValue), Context("other", "x")));
        Assert.Equal(expected, DenyApplies(One(op, policyValue), Context("other", "x")));
    }

    [Theory]
    [MemberData(nameof(Operators))]
    public void IfExists_passes_on_a_missing_key_and_otherwise_tests_as_usual(string op, string policyValue, string requestValue)
    {
        var ifExists = One(op + "IfExists", policyValue);

        Assert.True(AllowHolds(ifExists, new RequestContext()));
        Assert.True(AllowHolds(ifExists, Context("k", requestValue)));
        Assert.Equal(
            AllowHolds(One(op, policyValue), Context("k", "zzz-not-matching")),
            AllowHolds(ifExists, Context("k", "zzz-not-matching")));
    }

    [Theory]
    [InlineData("StringEqualsIfExists", "b", "a", false)]
    [InlineData("StringEqualsIfExists", "b", "b", true)]
    [InlineData("NumericLessThanIfExists", "1", "5", false)]
    [InlineData("NumericLessThanIfExists", "1", "0", true)]
    [InlineData("StringNotEqualsIfExists", "b", "b", false)]
    [InlineData("StringNotEqualsIfExists", "b", "a", true)]
    [InlineData("StringEqualsIfExists", "", "", true)]
    public void IfExists_with_a_present_key_applies_the_base_operator(string op, string policyValue, string requestValue, bool holds)
    {
        Assert.Equal(holds, AllowHolds(One(op, policyValue), Context("k", requestValue)));
    }

    [Fact]
    public void Negated_operator_with_an_unresolved_variable_fails_closed_even_when_the_key_is_missing()
    {
        // Reference §5: an unresolved variable in a negated operator's value makes an Allow inapplicable.
        const string condition = """{"StringNotEquals": {"k": "${iot:Connection.Thing.ThingName}"}}""";

        Assert.False(AllowHolds(condition, new RequestContext()));
        Assert.True(DenyApplies(condition, new RequestContext()));
    }

    [Fact]
    public void Several_keys_under_one_operator_must_all_hold()
    {
        const string condition = """{"StringEquals": {"a": "1", "b": "2"}}""";

        Assert.True(AllowHolds(condition, Context("a", "1", "b", "2")));
        Assert.False(AllowHolds(condition, Context("a", "1", "b", "3")));
        Assert.False(AllowHolds(condition, Context("a", "1")));
    }

    [Fact]
    public void Several_operators_must_all_hold()
    {
        const string condition = """{"StringLike": {"a": "x*"}, "NumericLessThan": {"n": "5"}, "Bool": {"b": "true"}}""";

        Assert.True(AllowHolds(condition, Context("a", "xy", "n", "4", "b", "true")));
        Assert.False(AllowHolds(condition, Context("a", "yy", "n", "4", "b", "true")));
        Assert.False(AllowHolds(condition, Context("a", "xy", "n", "5", "b", "true")));
        Assert.False(AllowHolds(condition, Context("a", "xy", "n", "4", "b", "false")));
    }

    [Fact]
    public void A_failing_condition_keeps_a_deny_from_applying()
    {
        const string condition = """{"StringEquals": {"iot:ClientId": "blocked"}}""";

        Assert.True(DenyApplies(condition, Context("iot:ClientId", "blocked")));
        Assert.False(DenyApplies(condition, Context("iot:ClientId", "dev1")));
        Assert.False(DenyApplies(condition, new RequestContext()));
    }

    private static RequestContext Set(params string[] values) => new RequestContext().Set("iot:ConnectAttributes", values);

    [Fact]
    public void ForAllValues_holds_when_every_request_value_is_listed()
    {
        const string condition = """{"ForAllValues:StringEquals": {"iot:ConnectAttributes": ["PersistentConnect", "LastWill"]}}""";

        Assert.True(AllowHolds(condition, Set("LastWill")));
        Assert.True(AllowHolds(condition, Set("LastWill", "PersistentConnect")));
        Assert.False(AllowHolds(condition, Set("LastWill", "Other")));
    }

    [Fact]
    public void ForAllValues_holds_on_an_empty_set_and_an_absent_key()
    {
        const string condition = """{"ForAllValues:StringEquals": {"iot:ConnectAttributes": ["LastWill"]}}""";

        Assert.True(AllowHolds(condition, Set()));
        Assert.True(AllowHolds(condition, new RequestContext()));
    }

    [Fact]
    public void ForAllValues_with_an_empty_list_allows_only_default_features()
    {
        // IoT connect-policy: {"ForAllValues:StringEquals": {"iot:ConnectAttributes": []}} allows only a plain connect.
        const string condition = """{"ForAllValues:StringEquals": {"iot:ConnectAttributes": []}}""";

        Assert.True(AllowHolds(condition, Set()));
        Assert.True(AllowHolds(condition, new RequestContext()));
        Assert.False(AllowHolds(condition, Set("LastWill")));
    }

    [Fact]
    public void ForAnyValue_holds_when_some_request_value_is_listed()
    {
        const string condition = """{"ForAnyValue:StringEquals": {"iot:ConnectAttributes": "LastWill"}}""";

        Assert.True(AllowHolds(condition, Set("PersistentConnect", "LastWill")));
        Assert.False(AllowHolds(condition, Set("PersistentConnect")));
    }

    [Fact]
    public void ForAnyValue_fails_on_an_empty_set_an_absent_key_and_an_empty_list()
    {
        Assert.False(AllowHolds("""{"ForAnyValue:StringEquals": {"iot:ConnectAttributes": "LastWill"}}""", Set()));
        Assert.False(AllowHolds("""{"ForAnyValue:StringEquals": {"iot:ConnectAttributes": "LastWill"}}""", new RequestContext()));
        Assert.False(AllowHolds("""{"ForAnyValue:StringEquals": {"iot:ConnectAttributes": []}}""", Set("LastWill")));
    }

    [Fact]
    public void Set_qualifiers_combine_with_negated_and_like_operators()
    {
        Assert.True(AllowHolds("""{"ForAllValues:StringNotEquals": {"iot:ConnectAttributes": "LastWill"}}""", Set("PersistentConnect")));
        Assert.False(AllowHolds("""{"ForAllValues:StringNotEquals": {"iot:ConnectAttributes": "LastWill"}}""", Set("PersistentConnect", "LastWill")));
        Assert.True(AllowHolds("""{"ForAnyValue:StringNotEquals": {"iot:ConnectAttributes": "LastWill"}}""", Set("PersistentConnect", "LastWill")));
        Assert.False(AllowHolds("""{"ForAnyValue:StringNotEquals": {"iot:ConnectAttributes": "LastWill"}}""", Set("LastWill")));
        Assert.True(AllowHolds("""{"ForAnyValue:StringLike": {"iot:ConnectAttributes": "Last*"}}""", Set("PersistentConnect", "LastWill")));
    }

    [Fact]
    public void Set_qualifiers_with_IfExists_pass_on_an_absent_key()
    {
        Assert.True(AllowHolds("""{"ForAnyValue:StringEqualsIfExists": {"iot:ConnectAttributes": "LastWill"}}""", new RequestContext()));
        Assert.False(AllowHolds("""{"ForAnyValue:StringEqualsIfExists": {"iot:ConnectAttributes": "LastWill"}}""", Set("Other")));
    }

    [Fact]
    public void A_single_value_is_a_set_of_one_for_set_qualifiers()
    {
        Assert.True(AllowHolds("""{"ForAnyValue:StringEquals": {"k": ["a", "b"]}}""", Context("k", "b")));
        Assert.False(AllowHolds("""{"ForAllValues:StringEquals": {"k": ["a", "b"]}}""", Context("k", "c")));
    }

    [Fact]
    public void Without_a_qualifier_a_positive_operator_needs_one_matching_request_value()
    {
        Assert.True(AllowHolds("""{"StringEquals": {"iot:ConnectAttributes": "LastWill"}}""", Set("PersistentConnect", "LastWill")));
        Assert.False(AllowHolds("""{"StringEquals": {"iot:ConnectAttributes": "LastWill"}}""", Set("PersistentConnect")));
    }

    [Fact]
    public void Without_a_qualifier_a_negated_operator_needs_every_request_value_to_miss()
    {
        Assert.False(AllowHolds("""{"StringNotEquals": {"iot:ConnectAttributes": "LastWill"}}""", Set("PersistentConnect", "LastWill")));
        Assert.True(AllowHolds("""{"StringNotEquals": {"iot:ConnectAttributes": "LastWill"}}""", Set("PersistentConnect")));
    }
}
