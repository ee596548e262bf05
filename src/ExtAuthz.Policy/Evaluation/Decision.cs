namespace ExtAuthz.Policy;

/// <summary>AWS's three outcomes, named as TestAuthorization names them.</summary>
public enum DecisionKind : byte
{
    ImplicitDeny,
    ExplicitDeny,
    Allowed,
}

/// <summary>
/// The outcome of <see cref="PolicyEvaluator.Decide(PolicySet, in AuthorizationRequest)"/>: the kind and the
/// statement that decided it (the first matching Deny, else the first matching Allow; none for an
/// implicit deny). A value type: deciding allocates nothing.
/// </summary>
public readonly record struct Decision(DecisionKind Kind, Statement? DecidingStatement)
{
    public bool IsAllowed => Kind == DecisionKind.Allowed;

    public static Decision Implicit => new(DecisionKind.ImplicitDeny, null);
}

public static class DecisionKindExtensions
{
    /// <summary><c>ALLOWED</c>, <c>EXPLICIT_DENY</c> or <c>IMPLICIT_DENY</c>, as AWS writes them.</summary>
    public static string ToAwsString(this DecisionKind kind) => kind switch
    {
        DecisionKind.Allowed => "ALLOWED",
        DecisionKind.ExplicitDeny => "EXPLICIT_DENY",
        _ => "IMPLICIT_DENY",
    };
}

/// <summary>A statement that matched a request; <see cref="FromBoundary"/> when it came from the boundary set.</summary>
public readonly record struct StatementMatch(Statement Statement, bool FromBoundary);

/// <summary>
/// The full account of a decision, as TestAuthorization gives it: every matching Allow and Deny
/// statement, the policies that said nothing about the request, and the context keys the policies
/// needed but the request lacked.
/// </summary>
public sealed class Explanation
{
    internal Explanation(DecisionKind decision, IReadOnlyList<StatementMatch> allowed, IReadOnlyList<StatementMatch> explicitDenies,
        IReadOnlyList<PolicyDocument> silentPolicies, IReadOnlyList<string> missingContextValues)
    {
        Decision = decision;
        Allowed = allowed;
        ExplicitDenies = explicitDenies;
        SilentPolicies = silentPolicies;
        MissingContextValues = missingContextValues;
    }

    public DecisionKind Decision { get; }

    public IReadOnlyList<StatementMatch> Allowed { get; }

    public IReadOnlyList<StatementMatch> ExplicitDenies { get; }

    /// <summary>Policies with no matching Allow or Deny statement (TestAuthorization's implicitDeny list).</summary>
    public IReadOnlyList<PolicyDocument> SilentPolicies { get; }

    /// <summary>Context keys read by statements for this action that the request did not supply, sorted.</summary>
    public IReadOnlyList<string> MissingContextValues { get; }
}
