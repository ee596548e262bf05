namespace ExtAuthz.Policy.Conditions;

/// <summary>IAM's condition operators, without the set qualifier and IfExists suffix.</summary>
internal enum ConditionOperator : byte
{
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

/// <summary><c>ForAllValues:</c> / <c>ForAnyValue:</c> on multi-valued keys.</summary>
internal enum SetQualifier : byte
{
    None,
    ForAllValues,
    ForAnyValue,
}

internal enum Comparison : byte
{
    Equal,
    LessThan,
    LessThanOrEqual,
    GreaterThan,
    GreaterThanOrEqual,
}

internal static class ConditionOperators
{
    private static readonly Dictionary<string, ConditionOperator> ByName =
        Enum.GetValues<ConditionOperator>().ToDictionary(o => o.ToString(), StringComparer.OrdinalIgnoreCase);

    public static bool TryParse(string name, out ConditionOperator op) => ByName.TryGetValue(name, out op);

    /// <summary>Operators that hold when the value matches none of the policy values.</summary>
    public static bool IsNegated(this ConditionOperator op) => op is ConditionOperator.StringNotEquals
        or ConditionOperator.StringNotEqualsIgnoreCase or ConditionOperator.StringNotLike
        or ConditionOperator.NumericNotEquals or ConditionOperator.DateNotEquals
        or ConditionOperator.NotIpAddress or ConditionOperator.ArnNotEquals or ConditionOperator.ArnNotLike;

    /// <summary>IAM allows policy variables only with string, ARN and (per the operators page) Bool operators.</summary>
    public static bool AllowsVariables(this ConditionOperator op) => op <= ConditionOperator.StringNotLike
        || op == ConditionOperator.Bool || op >= ConditionOperator.ArnEquals && op <= ConditionOperator.ArnNotLike;

    public static Comparison ComparisonOf(this ConditionOperator op) => op switch
    {
        ConditionOperator.NumericLessThan or ConditionOperator.DateLessThan => Comparison.LessThan,
        ConditionOperator.NumericLessThanEquals or ConditionOperator.DateLessThanEquals => Comparison.LessThanOrEqual,
        ConditionOperator.NumericGreaterThan or ConditionOperator.DateGreaterThan => Comparison.GreaterThan,
        ConditionOperator.NumericGreaterThanEquals or ConditionOperator.DateGreaterThanEquals => Comparison.GreaterThanOrEqual,
        _ => Comparison.Equal,
    };

    public static bool Holds(this Comparison comparison, int order) => comparison switch
    {
        Comparison.LessThan => order < 0,
        Comparison.LessThanOrEqual => order <= 0,
        Comparison.GreaterThan => order > 0,
        Comparison.GreaterThanOrEqual => order >= 0,
        _ => order == 0,
    };
}
