namespace ExtAuthz.Policy.Conditions;

/// <summary>
/// One condition key under one operator, e.g. <c>ForAllValues:StringEquals {"iot:ConnectAttributes": […]}</c>.
/// Implements IAM's rules: values of one key OR (negated operators: none may match), a missing key fails
/// positive operators and satisfies negated ones, <c>…IfExists</c> makes a missing key pass,
/// <c>ForAllValues</c> holds on an absent or empty set and <c>ForAnyValue</c> fails on one.
/// </summary>
internal sealed class Condition
{
    public Condition(string operatorName, ConditionOperator op, SetQualifier qualifier, bool ifExists, string key, ConditionValues values)
    {
        OperatorName = operatorName;
        Operator = op;
        Qualifier = qualifier;
        IfExists = ifExists;
        Key = key;
        Values = values;
        Negated = op.IsNegated();
        HasVariables = values.Variables.Any();
    }

    /// <summary>The operator as written, e.g. <c>ForAnyValue:StringLikeIfExists</c>.</summary>
    public string OperatorName { get; }

    public ConditionOperator Operator { get; }

    public SetQualifier Qualifier { get; }

    public bool IfExists { get; }

    public string Key { get; }

    public ConditionValues Values { get; }

    public bool Negated { get; }

    public bool HasVariables { get; }

    /// <summary>Whether the condition lets the statement apply. <paramref name="deny"/> decides the
    /// fail-closed reading of an unresolved variable in a negated operator's values.</summary>
    public bool Holds(IRequestContext context, bool deny)
    {
        var found = context.TryGetValue(Key, out var value);
        if (Operator == ConditionOperator.Null)
        {
            return ((NullValues)Values).Holds(found && value.Count > 0);
        }

        // Fail closed before the missing-key rules: an unresolved variable in a negated operator's
        // values keeps an Allow from applying and makes a Deny apply, whether or not the key is present.
        if (Negated && HasVariables && Values.HasUnresolved(context))
        {
            return deny;
        }

        if (!found || value.Count == 0)
        {
            if (IfExists && !found)
            {
                return true;
            }

            return Qualifier switch
            {
                SetQualifier.ForAllValues => true,
                SetQualifier.ForAnyValue => false,
                _ => Negated,
            };
        }

        if (Qualifier == SetQualifier.ForAllValues)
        {
            for (var i = 0; i < value.Count; i++)
            {
                if (!Test(value[i], context))
                {
                    return false;
                }
            }

            return true;
        }

        if (Qualifier == SetQualifier.ForAnyValue || !Negated)
        {
            for (var i = 0; i < value.Count; i++)
            {
                if (Test(value[i], context))
                {
                    return true;
                }
            }

            return false;
        }

        // A negated operator without a qualifier on a multi-valued key: no request value may match.
        for (var i = 0; i < value.Count; i++)
        {
            if (!Test(value[i], context))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Keys whose absence this condition cares about: its key (unless IfExists/Null) and its variables.</summary>
    public IEnumerable<string> ReferencedKeys()
    {
        if (Operator != ConditionOperator.Null && !IfExists)
        {
            yield return Key;
        }

        foreach (var variable in Values.Variables)
        {
            if (variable.Default is null)
            {
                yield return variable.Text;
            }
        }
    }

    private bool Test(string requestValue, IRequestContext context) => Values.MatchesAny(requestValue, context) != Negated;
}
