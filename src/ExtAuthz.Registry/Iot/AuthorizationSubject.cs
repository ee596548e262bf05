using ExtAuthz.Policy;

namespace ExtAuthz.Registry;

public enum PrincipalKind
{
    Certificate,
    CognitoUnauthenticated,
    CognitoAuthenticated,
    IamUser,
    IamRole,
    ThingGroup,
}

public static class PrincipalKinds
{
    private static readonly string[] Names = Enum.GetNames<PrincipalKind>();

    /// <summary>The kind as answers and logs spell it (the member's name), without the allocation of <c>ToString</c>.</summary>
    public static string Name(this PrincipalKind kind) => (uint)kind < (uint)Names.Length ? Names[(int)kind] : kind.ToString();
}

/// <summary>
/// An authenticated principal on one connection, ready to decide: the policies that apply to it, the
/// Cognito scope-down (IoT policies attached to an authenticated identity, intersected with the role's
/// IAM policies for the data-plane actions AWS scopes), and the request context. Shadow AWS IoT
/// policies are left out of what is enforced; when some are attached, <see cref="DecideShadow"/> gives
/// the decision as it would be with them enforced, for the decision log.
/// </summary>
public sealed class AuthorizationSubject
{
    /// <summary>The actions for which AWS IoT intersects an authenticated Cognito identity's role policy with its IoT policies.</summary>
    public static readonly IReadOnlySet<string> CognitoScopedActions = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive", "iot:GetThingShadow", "iot:UpdateThingShadow", "iot:DeleteThingShadow",
    };

    internal AuthorizationSubject(PrincipalKind kind, string principalId, string principalArn, RegistrySnapshot snapshot,
        PolicySet policies, PolicySet? scopedBoundary, PolicySet? shadowPolicies, PolicySet? shadowScopedBoundary, IRequestContext context, ThingRecord? thing)
    {
        Kind = kind;
        PrincipalId = principalId;
        PrincipalArn = principalArn;
        Snapshot = snapshot;
        Policies = policies;
        ScopedBoundary = scopedBoundary;
        ShadowPolicies = shadowPolicies;
        ShadowScopedBoundary = shadowScopedBoundary;
        Context = context;
        Thing = thing;
    }

    public PrincipalKind Kind { get; }

    /// <summary>Certificate ID, Cognito identity ID, thing group name, or IAM user/role name.</summary>
    public string PrincipalId { get; }

    public string PrincipalArn { get; }

    /// <summary>The configuration the subject was resolved against.</summary>
    public RegistrySnapshot Snapshot { get; }

    /// <summary>AWS IoT policies for certificates and thing groups (shadow policies left out); IAM policies for Cognito and IAM identities.</summary>
    public PolicySet Policies { get; }

    /// <summary>For authenticated Cognito identities: the IoT policies attached to the identity, shadow policies left out (empty when none).</summary>
    public PolicySet? ScopedBoundary { get; }

    /// <summary>Whether a shadow policy is attached to the subject by any route, so that <see cref="DecideShadow"/> has a decision to give.</summary>
    public bool HasShadowPolicies => ShadowPolicies is not null;

    /// <summary>
    /// <see cref="Policies"/> as they would be with the subject's shadow policies enforced; null when it
    /// has none. For a Cognito identity, whose shadow policies can only be in the scope-down, this is
    /// <see cref="Policies"/> itself.
    /// </summary>
    public PolicySet? ShadowPolicies { get; }

    /// <summary>For authenticated Cognito identities with a shadow policy attached: <see cref="ScopedBoundary"/> with it enforced; null otherwise.</summary>
    public PolicySet? ShadowScopedBoundary { get; }

    public IRequestContext Context { get; }

    /// <summary>The thing the connection resolved to (attached, and named by the client ID or attached exclusively).</summary>
    public ThingRecord? Thing { get; }

    /// <summary>The boundary that applies to <paramref name="action"/>, if any.</summary>
    public PolicySet? BoundaryFor(string action) => Scoped(ScopedBoundary, action);

    /// <summary>
    /// Decides an action on a resource ARN; allocation-free apart from the caller's strings.
    /// <paramref name="context"/> replaces <see cref="Context"/> for a request that adds keys of its own
    /// (a job ID, say); it should fall back to <see cref="Context"/> for the rest.
    /// </summary>
    public Decision Decide(string action, string resource, IRequestContext? context = null) =>
        PolicyEvaluator.Decide(Policies, BoundaryFor(action), new AuthorizationRequest(action, resource, context ?? Context));

    public Explanation Explain(string action, string resource, IRequestContext? context = null) =>
        PolicyEvaluator.Explain(Policies, BoundaryFor(action), new AuthorizationRequest(action, resource, context ?? Context));

    /// <summary>
    /// The decision had the subject's shadow policies been enforced, or null when it has none; to log
    /// beside <see cref="Decide"/>'s, never to answer with. Allocation-free, as <see cref="Decide"/> is.
    /// </summary>
    public Decision? DecideShadow(string action, string resource, IRequestContext? context = null) =>
        ShadowPolicies is null ? null : PolicyEvaluator.Decide(ShadowPolicies, Scoped(ShadowScopedBoundary, action), new AuthorizationRequest(action, resource, context ?? Context));

    /// <summary><see cref="Explain"/> with the subject's shadow policies enforced, or null when it has none.</summary>
    public Explanation? ExplainShadow(string action, string resource, IRequestContext? context = null) =>
        ShadowPolicies is null ? null : PolicyEvaluator.Explain(ShadowPolicies, Scoped(ShadowScopedBoundary, action), new AuthorizationRequest(action, resource, context ?? Context));

    private static PolicySet? Scoped(PolicySet? boundary, string action) =>
        boundary is not null && CognitoScopedActions.Contains(action) ? boundary : null;
}

/// <summary>The outcome of identifying a principal: a subject, or why it was refused before any policy (an authentication failure).</summary>
public readonly record struct Authentication(AuthorizationSubject? Subject, string? FailureReason)
{
    public bool Succeeded => Subject is not null;

    public static Authentication Fail(string reason) => new(null, reason);
}

/// <summary>TestAuthorization's <c>policyNamesToAdd</c> and <c>policyNamesToSkip</c>: treated as attached / not attached.</summary>
public sealed record PolicyOverrides(IReadOnlyList<string> Add, IReadOnlyList<string> Skip)
{
    public static PolicyOverrides None { get; } = new([], []);

    public bool IsEmpty => Add.Count == 0 && Skip.Count == 0;
}
