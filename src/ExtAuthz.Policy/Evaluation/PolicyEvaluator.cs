namespace ExtAuthz.Policy;

/// <summary>
/// AWS's evaluation: an explicit Deny in any policy wins; otherwise an Allow in some policy allows;
/// otherwise the request is implicitly denied. With a boundary set (Cognito: IAM role policy ∩ IoT
/// policy) the request is allowed only when both sets allow it, and a Deny in either is explicit.
/// </summary>
public static class PolicyEvaluator
{
    /// <summary>The decision alone. Allocation-free.</summary>
    public static Decision Decide(PolicySet policies, in AuthorizationRequest request)
    {
        ArgumentNullException.ThrowIfNull(policies);
        var bucket = policies.For(request.Action);
        foreach (var entry in bucket.Denies)
        {
            if (entry.Applies(request))
            {
                return new Decision(DecisionKind.ExplicitDeny, entry.Statement);
            }
        }

        foreach (var entry in bucket.Allows)
        {
            if (entry.Applies(request))
            {
                return new Decision(DecisionKind.Allowed, entry.Statement);
            }
        }

        return Decision.Implicit;
    }

    /// <summary>The decision under an optional boundary; a present but empty boundary allows nothing.</summary>
    public static Decision Decide(PolicySet policies, PolicySet? boundary, in AuthorizationRequest request)
    {
        var primary = Decide(policies, request);
        if (boundary is null || primary.Kind == DecisionKind.ExplicitDeny)
        {
            return primary;
        }

        var bounded = Decide(boundary, request);
        if (bounded.Kind == DecisionKind.ExplicitDeny)
        {
            return bounded;
        }

        return primary.IsAllowed && bounded.IsAllowed ? primary : Decision.Implicit;
    }

    /// <summary>Every matching statement, the silent policies and the missing context keys.</summary>
    public static Explanation Explain(PolicySet policies, PolicySet? boundary, in AuthorizationRequest request)
    {
        ArgumentNullException.ThrowIfNull(policies);
        var allowed = new List<StatementMatch>();
        var denied = new List<StatementMatch>();
        var silent = new List<PolicyDocument>();
        var missing = new SortedSet<string>(StringComparer.OrdinalIgnoreCase);
        Collect(policies, fromBoundary: false, request, allowed, denied, silent, missing);
        if (boundary is not null)
        {
            Collect(boundary, fromBoundary: true, request, allowed, denied, silent, missing);
        }

        DecisionKind kind;
        if (denied.Count > 0)
        {
            kind = DecisionKind.ExplicitDeny;
        }
        else
        {
            var primaryAllows = allowed.Exists(m => !m.FromBoundary);
            var boundaryAllows = boundary is null || allowed.Exists(m => m.FromBoundary);
            kind = primaryAllows && boundaryAllows ? DecisionKind.Allowed : DecisionKind.ImplicitDeny;
        }

        return new Explanation(kind, allowed, denied, silent, [.. missing]);
    }

    private static void Collect(PolicySet set, bool fromBoundary, in AuthorizationRequest request,
        List<StatementMatch> allowed, List<StatementMatch> denied, List<PolicyDocument> silent, SortedSet<string> missing)
    {
        foreach (var policy in set.Policies)
        {
            var spoke = false;
            foreach (var statement in policy.Statements)
            {
                if (!statement.MatchesAction(request.Action))
                {
                    continue;
                }

                foreach (var key in statement.ReferencedKeys)
                {
                    if (!request.Context.TryGetValue(key, out _))
                    {
                        missing.Add(key);
                    }
                }

                if (statement.AppliesTo(request))
                {
                    spoke = true;
                    (statement.Effect == Effect.Deny ? denied : allowed).Add(new StatementMatch(statement, fromBoundary));
                }
            }

            if (!spoke)
            {
                silent.Add(policy);
            }
        }
    }
}
