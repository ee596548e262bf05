using static ExtAuthz.Policy.Tests.PolicyTestKit;

namespace ExtAuthz.Policy.Tests;

/// <summary>Numeric* and Date* operators: integers and decimals; W3C ISO 8601 dates or epoch seconds.</summary>
public sealed class NumericDateConditionTests
{
    private static bool Holds(string op, string policyValue, string requestValue) =>
        AllowHolds(ConditionJson(op, "k", $"\"{policyValue}\""), Context("k", requestValue));

    [Theory]
    [InlineData("NumericEquals", "10", "10", true)]
    [InlineData("NumericEquals", "10", "10.0", true)]
    [InlineData("NumericEquals", "10", "1e1", true)]
    [InlineData("NumericEquals", "10", "11", false)]
    [InlineData("NumericEquals", "10", "ten", false)]
    [InlineData("NumericNotEquals", "10", "10", false)]
    [InlineData("NumericNotEquals", "10", "9", true)]
    [InlineData("NumericLessThan", "10", "9.99", true)]
    [InlineData("NumericLessThan", "10", "10", false)]
    [InlineData("NumericLessThan", "-1.5", "-2", true)]
    [InlineData("NumericLessThanEquals", "10", "10", true)]
    [InlineData("NumericLessThanEquals", "10", "10.01", false)]
    [InlineData("NumericGreaterThan", "10", "10.01", true)]
    [InlineData("NumericGreaterThan", "10", "10", false)]
    [InlineData("NumericGreaterThanEquals", "10", "10", true)]
    [InlineData("NumericGreaterThanEquals", "10", "9", false)]
    public void Compares_numbers(string op, string policyValue, string requestValue, bool holds)
    {
        Assert.Equal(holds, Holds(op, policyValue, requestValue));
    }

    [Theory]
    [InlineData("DateEquals", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", true)]
    [InlineData("DateEquals", "2020-01-01T00:00:00Z", "2020-01-01T02:00:00+02:00", true)]
    [InlineData("DateEquals", "2020-01-01T00:00:00Z", "1577836800", true)]
    [InlineData("DateEquals", "1577836800", "2020-01-01T00:00:00Z", true)]
    [InlineData("DateEquals", "2020-01-01", "2020-01-01T00:00:00Z", true)]
    [InlineData("DateEquals", "2020-01-01T00:00:00Z", "2020-01-01T00:00:01Z", false)]
    [InlineData("DateEquals", "2020-01-01T00:00:00Z", "not a date", false)]
    [InlineData("DateNotEquals", "2020-01-01T00:00:00Z", "1577836800", false)]
    [InlineData("DateNotEquals", "2020-01-01T00:00:00Z", "1577836801", true)]
    [InlineData("DateLessThan", "2020-01-01T00:00:00Z", "2019-12-31T23:59:59Z", true)]
    [InlineData("DateLessThan", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", false)]
    [InlineData("DateLessThanEquals", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", true)]
    [InlineData("DateLessThanEquals", "2020-01-01T00:00:00Z", "2020-01-01T00:00:01Z", false)]
    [InlineData("DateGreaterThan", "2020-01-01T00:00:00Z", "2020-01-01T01:00:00+02:00", false)]
    [InlineData("DateGreaterThan", "2020-01-01T00:00:00Z", "2020-01-01T00:00:01Z", true)]
    [InlineData("DateGreaterThanEquals", "2020-01-01T00:00:00Z", "1577836800", true)]
    [InlineData("DateGreaterThanEquals", "2020-01-01T00:00:00Z", "1577836799", false)]
    public void Compares_dates_in_utc(string op, string policyValue, string requestValue, bool holds)
    {
        Assert.Equal(holds, Holds(op, policyValue, requestValue));
    }

    [Fact]
    public void A_time_window_is_two_operators_that_must_both_hold()
    {
        const string window = """{"DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}, "DateLessThan": {"aws:CurrentTime": "2024-02-01T00:00:00Z"}}""";

        Assert.True(AllowHolds(window, Context("aws:CurrentTime", "2024-01-15T12:00:00Z")));
        Assert.False(AllowHolds(window, Context("aws:CurrentTime", "2023-12-31T23:00:00Z")));
        Assert.False(AllowHolds(window, Context("aws:CurrentTime", "2024-02-01T00:00:00Z")));
    }
}
