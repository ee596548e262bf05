using System.Collections.Concurrent;
using System.Collections.Frozen;
using ExtAuthz.Policy;

namespace ExtAuthz.Registry.Iot;

/// <summary>
/// The AWS IoT policies a principal gets: <see cref="Enforced"/> leaves shadow policies out;
/// <see cref="Shadow"/>, present only when some of its policies are shadow, has them in.
/// </summary>
internal readonly record struct IotPolicySets(PolicySet Enforced, PolicySet? Shadow);

/// <summary>
/// What one snapshot knows about a certificate, worked out once: status, attached policies, thing
/// attachments and certificate variables. Compiled policy sets are kept per resolved thing; which
/// policies are shadow is the snapshot's, so the sets die with it like everything else here.
/// </summary>
internal sealed class CertificatePrincipal(
    string id,
    string arn,
    CertificateStatus status,
    string? failure,
    IReadOnlyList<string> policyNames,
    IReadOnlyList<ThingAttachment> things,
    FrozenDictionary<string, ContextValue> variables)
{
    public string Id => id;

    public string Arn => arn;

    public CertificateStatus Status => status;

    /// <summary>Why the certificate cannot authenticate, or null.</summary>
    public string? Failure => failure;

    public IReadOnlyList<string> PolicyNames => policyNames;

    public IReadOnlyList<ThingAttachment> Things => things;

    public FrozenDictionary<string, ContextValue> Variables => variables;

    public ConcurrentDictionary<string, IotPolicySets> PolicySets { get; } = new(StringComparer.Ordinal);
}

/// <summary>Per-snapshot caches; a snapshot and its caches are dropped together.</summary>
internal sealed class PrincipalCache
{
    public ConcurrentDictionary<string, CertificatePrincipal> Certificates { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, FrozenDictionary<string, ContextValue>> ThingValues { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, PolicySet> PolicySets { get; } = new(StringComparer.Ordinal);

    /// <summary>An IAM user's or role's compiled policies and principal keys, by ARN (SigV4 and web identities resolve it per request).</summary>
    public ConcurrentDictionary<string, (PolicySet Policies, FrozenDictionary<string, ContextValue> Values)> IamPrincipals { get; } = new(StringComparer.Ordinal);
}
