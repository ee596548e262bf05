using System.Runtime.CompilerServices;
using ExtAuthz.Policy;

namespace ExtAuthz.Identity.Decisions;

/// <summary>Reasons worded once for the Check service and the MQTT gate.</summary>
public static class DecisionReasons
{
    private static readonly ConditionalWeakTable<Statement, string> AllowedReasons = [];

    /// <summary>
    /// <c>allowed by policy NAME, statement LABEL</c>: made once per statement and kept while the statement
    /// lives (its configuration snapshot), since every allowed request carries it.
    /// </summary>
    public static string AllowedBy(Statement statement)
    {
        ArgumentNullException.ThrowIfNull(statement);
        return AllowedReasons.GetValue(statement, static s => $"allowed by policy {s.Policy.Name}, statement {s.Label}");
    }
}
