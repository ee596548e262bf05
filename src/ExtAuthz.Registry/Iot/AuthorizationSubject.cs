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

/// <summary>
/// An authenticated principal on one connection, ready to decide: the policies that apply to it, the
/// Cognito scope-down (IoT policies attached to an authenticated identity, intersected with the role's
/// IAM policies for the data-plane actions AWS scopes), and the request context.
/// </summary>
public sealed class AuthorizationSubject
{
    /// <summary>The actions for which AWS IoT intersects an authenticated Cognito identity's role policy with its IoT policies.</summary>
    public static readonly IReadOnlySet<string> CognitoScopedActions = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive", "iot:GetThingShadow", "iot:UpdateThingShadow", "iot:DeleteThingShadow",
    };

    internal AuthorizationSubject(PrincipalKind kind, string principalId, string principalArn, RegistrySnapshot snapshot,
        PolicySet policies, PolicySet? scopedBoundary, IRequestContext context, ThingRecord? thing)
    {
        Kind = kind;
        PrincipalId = principalId;
        PrincipalArn = principalArn;
        Snapshot = snapshot;
        Policies = policies;
        ScopedBoundary = scopedBoundary;
        Context = context;
        Thing = thing;
    }

    public PrincipalKind Kind { get; }

    /// <summary>Certificate ID, Cognito identity ID, thing group name, or IAM user/role name.</summary>
    public string PrincipalId { get; }

    public string PrincipalArn { get; }

    /// <summary>The configuration the subject was resolved against.</summary>
    public RegistrySnapshot Snapshot { get; }

    /// <summary>AWS IoT policies for certificates and thing groups; IAM policies for Cognito and IAM identities.</summary>
    public PolicySet Policies { get; }

    /// <summary>For authenticated Cognito identities: the IoT policies attached to the identity (empty when none).</summary>
    public PolicySet? ScopedBoundary { get; }

    public IRequestContext Context { get; }

    /// <summary>The thing the connection resolved to (attached, and named by the client ID or attached exclusively).</summary>
    public ThingRecord? Thing { get; }

    /// <summary>The boundary that applies to <paramref name="action"/>, if any.</summary>
    public PolicySet? BoundaryFor(string action) =>
        ScopedBoundary is not null && CognitoScopedActions.Contains(action) ? ScopedBoundary : null;

    /// <summary>Decides an action on a resource ARN; allocation-free apart from the caller's strings.</summary>
    public Decision Decide(string action, string resource) =>
        PolicyEvaluator.Decide(Policies, BoundaryFor(action), new AuthorizationRequest(action, resource, Context));

    public Explanation Explain(string action, string resource) =>
        PolicyEvaluator.Explain(Policies, BoundaryFor(action), new AuthorizationRequest(action, resource, Context));
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
