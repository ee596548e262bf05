namespace ExtAuthz.Policy;

/// <summary>
/// A policy document that cannot be accepted: which policy, where in it (JSON path, 1-based line and
/// column) and why. The message reads like <c>p1: Statement[1].Condition.StringSortOf (line 9, column 9): unknown condition operator</c>.
/// </summary>
public sealed class PolicyParseException : Exception
{
    public PolicyParseException(string policyName, string path, int line, int column, string reason)
        : base(Format(policyName, path, line, column, reason))
    {
        PolicyName = policyName;
        Path = path;
        Line = line;
        Column = column;
        Reason = reason;
    }

    public PolicyParseException()
        : this("", "", 0, 0, "invalid policy")
    {
    }

    public PolicyParseException(string message)
        : this("", "", 0, 0, message)
    {
    }

    public PolicyParseException(string message, Exception innerException)
        : base(message, innerException)
    {
        PolicyName = "";
        Path = "";
        Reason = message;
    }

    /// <summary>The name the document was given when it was parsed.</summary>
    public string PolicyName { get; }

    /// <summary>JSON path of the offending element, e.g. <c>Statement[1].Action[0]</c>; empty for the document itself.</summary>
    public string Path { get; }

    /// <summary>1-based line, or 0 when the problem has no position (e.g. the document is too large).</summary>
    public int Line { get; }

    /// <summary>1-based column in characters.</summary>
    public int Column { get; }

    /// <summary>The plain reason, without name or position.</summary>
    public string Reason { get; }

    private static string Format(string policyName, string path, int line, int column, string reason)
    {
        var where = path.Length == 0 ? "" : path;
        if (line > 0)
        {
            where = where.Length == 0 ? $"line {line}, column {column}" : $"{where} (line {line}, column {column})";
        }

        var name = policyName.Length == 0 ? "policy" : policyName;
        return where.Length == 0 ? $"{name}: {reason}" : $"{name}: {where}: {reason}";
    }
}
