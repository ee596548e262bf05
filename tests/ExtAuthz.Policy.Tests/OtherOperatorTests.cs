using static ExtAuthz.Policy.Tests.PolicyTestKit;

namespace ExtAuthz.Policy.Tests;

/// <summary>Bool, BinaryEquals, IpAddress/NotIpAddress, Arn* and Null.</summary>
public sealed class OtherOperatorTests
{
    private static bool Holds(string op, string policyValues, string requestValue) =>
        AllowHolds(ConditionJson(op, "k", policyValues), Context("k", requestValue));

    [Theory]
    [InlineData("\"true\"", "true", true)]
    [InlineData("\"true\"", "TRUE", true)]
    [InlineData("true", "true", true)]
    [InlineData("\"true\"", "false", false)]
    [InlineData("\"false\"", "false", true)]
    [InlineData("\"False\"", "false", true)]
    [InlineData("\"true\"", "yes", false)]
    [InlineData("\"true\"", "", false)]
    public void Bool_compares_true_and_false(string policyValues, string requestValue, bool holds)
    {
        Assert.Equal(holds, Holds("Bool", policyValues, requestValue));
    }

    [Theory]
    [InlineData("\"QUJD\"", "QUJD", true)]
    [InlineData("\"QUJD\"", "QUJE", false)]
    [InlineData("[\"QUJE\", \"QUJD\"]", "QUJD", true)]
    [InlineData("\"QUJD\"", "not base64", false)]
    [InlineData("\"\"", "", true)]
    public void BinaryEquals_compares_decoded_bytes(string policyValues, string requestValue, bool holds)
    {
        Assert.Equal(holds, Holds("BinaryEquals", policyValues, requestValue));
    }

    [Theory]
    [InlineData("\"203.0.113.0/24\"", "203.0.113.7", true)]
    [InlineData("\"203.0.113.0/24\"", "203.0.114.7", false)]
    [InlineData("\"203.0.113.7\"", "203.0.113.7", true)]
    [InlineData("\"203.0.113.7\"", "203.0.113.8", false)]
    [InlineData("\"10.0.0.0/9\"", "10.127.255.255", true)]
    [InlineData("\"10.0.0.0/9\"", "10.128.0.0", false)]
    [InlineData("\"10.1.2.3/8\"", "10.200.0.1", true)]
    [InlineData("\"0.0.0.0/0\"", "198.51.100.1", true)]
    [InlineData("\"0.0.0.0/0\"", "2001:db8::1", false)]
    [InlineData("\"2001:db8::/32\"", "2001:db8:1234::1", true)]
    [InlineData("\"2001:db8::/32\"", "2001:db9::1", false)]
    [InlineData("\"2001:db8::1\"", "2001:0db8:0000::0001", true)]
    [InlineData("\"2001:db8::/33\"", "2001:db8:8000::1", false)]
    [InlineData("\"203.0.113.0/24\"", "::ffff:203.0.113.9", true)]
    [InlineData("\"203.0.113.0/24\"", "::ffff:203.0.114.9", false)]
    [InlineData("\"::ffff:203.0.113.0/120\"", "::ffff:203.0.113.9", true)]
    [InlineData("\"::ffff:203.0.113.0/120\"", "203.0.113.9", true)]
    [InlineData("\"::ffff:203.0.113.0/120\"", "203.0.114.9", false)]
    [InlineData("\"::ffff:203.0.113.9\"", "::ffff:203.0.113.9", true)]
    [InlineData("[\"192.0.2.0/24\", \"203.0.113.0/24\"]", "203.0.113.1", true)]
    [InlineData("\"203.0.113.0/24\"", "not an ip", false)]
    public void IpAddress_tests_cidr_membership(string policyValues, string requestValue, bool holds)
    {
        Assert.Equal(holds, Holds("IpAddress", policyValues, requestValue));
    }

    [Theory]
    [InlineData("203.0.113.7", false)]
    [InlineData("::ffff:203.0.113.7", false)]
    [InlineData("192.0.2.1", false)]
    [InlineData("198.51.100.1", true)]
    [InlineData("2001:db8::1", true)]
    public void NotIpAddress_holds_outside_every_block(string requestValue, bool holds)
    {
        Assert.Equal(holds, Holds("NotIpAddress", """["203.0.113.0/24", "192.0.2.0/24"]""", requestValue));
    }

    [Theory]
    [InlineData("ArnEquals", "arn:aws:iot:us-east-1:123456789012:topic/will/*", "arn:aws:iot:us-east-1:123456789012:topic/will/a/b", true)]
    [InlineData("ArnLike", "arn:aws:iot:us-east-1:123456789012:topic/will/*", "arn:aws:iot:us-east-1:123456789012:topic/will/a/b", true)]
    [InlineData("ArnLike", "arn:aws:iot:us-east-1:123456789012:topic/will/*", "arn:aws:iot:us-east-1:123456789012:topic/other", false)]
    [InlineData("ArnLike", "arn:aws:iot:*:123456789012:topic/a", "arn:aws:iot:eu-west-1:123456789012:topic/a", true)]
    [InlineData("ArnLike", "arn:aws:iot:*:123456789012:topic/a", "arn:aws:iot:eu-west-1:x:123456789012:topic/a", false)]
    [InlineData("ArnLike", "arn:aws:iot:us-east-1:123456789012:topic/A", "arn:aws:iot:us-east-1:123456789012:topic/a", false)]
    [InlineData("ArnLike", "arn:aws:iot:us-east-1:123456789012:topic/a", "not an arn", false)]
    [InlineData("ArnNotEquals", "arn:aws:iot:us-east-1:123456789012:topic/will/*", "arn:aws:iot:us-east-1:123456789012:topic/will/x", false)]
    [InlineData("ArnNotLike", "arn:aws:iot:us-east-1:123456789012:topic/will/*", "arn:aws:iot:us-east-1:123456789012:topic/other", true)]
    public void Arn_operators_match_component_by_component(string op, string policyValue, string requestValue, bool holds)
    {
        Assert.Equal(holds, Holds(op, $"\"{policyValue}\"", requestValue));
    }

    [Fact]
    public void Each_arn_component_is_matched_separately_unlike_StringLike()
    {
        // IAM: ArnLike checks each of the six colon-delimited components separately; StringLike's * crosses ':'.
        const string pattern = "\"arn:aws:iot:us-east-1:*:topic/a\"";
        const string request = "arn:aws:iot:us-east-1:123:extra:topic/a";

        Assert.False(Holds("ArnLike", pattern, request));
        Assert.True(Holds("StringLike", pattern, request));
    }

    [Theory]
    [InlineData("true", false, true)]
    [InlineData("true", true, false)]
    [InlineData("false", true, true)]
    [InlineData("false", false, false)]
    public void Null_tests_presence_of_the_key(string policyValue, bool present, bool holds)
    {
        var context = present ? Context("k", "v") : new RequestContext();

        Assert.Equal(holds, AllowHolds(ConditionJson("Null", "k", $"\"{policyValue}\""), context));
    }

    [Fact]
    public void Null_treats_a_present_multi_valued_key_as_present()
    {
        Assert.False(AllowHolds("""{"Null": {"k": "true"}}""", new RequestContext().Set("k", ["a"])));
        Assert.True(AllowHolds("""{"Null": {"k": "false"}}""", new RequestContext().Set("k", ["a"])));
    }
}
