using System.Collections.Concurrent;
using System.Collections.Frozen;
using ExtAuthz.Registry.Iot;

namespace ExtAuthz.Registry;

/// <summary>
/// One complete, validated, compiled configuration. Immutable: a new configuration is a new snapshot,
/// swapped in whole, so a reader holding one never sees a mix of two.
/// </summary>
public sealed class RegistrySnapshot
{
    /// <summary><c>arn:aws:iot:REGION:ACCOUNT:</c>, built once: every Check names its resource with it.</summary>
    private readonly string iotArnPrefix;

    internal RegistrySnapshot(
        long generation,
        DateTimeOffset loadedAt,
        string fingerprint,
        string accountId,
        string region,
        IEnumerable<IotPolicy> policies,
        IEnumerable<CertificateRecord> certificates,
        IEnumerable<CaCertificateRecord> caCertificates,
        IEnumerable<ThingRecord> things,
        IEnumerable<ThingGroupRecord> thingGroups,
        IReadOnlyDictionary<string, IReadOnlyList<ThingAttachment>> thingsByPrincipal,
        IReadOnlyDictionary<string, IReadOnlyList<string>> policiesByCognitoIdentity,
        IEnumerable<IamManagedPolicy> iamPolicies,
        IEnumerable<IamPrincipal> iamPrincipals,
        IEnumerable<AccessKeyRecord> accessKeys,
        IEnumerable<CognitoIdentityPool> cognitoPools,
        IReadOnlyList<string> files)
    {
        Generation = generation;
        LoadedAt = loadedAt;
        Fingerprint = fingerprint;
        AccountId = accountId;
        Region = region;
        iotArnPrefix = $"arn:aws:iot:{region}:{accountId}:";
        Policies = policies.ToFrozenDictionary(p => p.Name, StringComparer.Ordinal);
        HasShadowPolicies = Policies.Values.Any(p => p.Shadow);
        Certificates = certificates.ToFrozenDictionary(c => c.Id, StringComparer.Ordinal);
        CaCertificates = caCertificates.ToFrozenDictionary(c => c.Id, StringComparer.Ordinal);
        Things = things.ToFrozenDictionary(t => t.Name, StringComparer.Ordinal);
        ThingGroups = thingGroups.ToFrozenDictionary(g => g.Name, StringComparer.Ordinal);
        ThingsByPrincipal = thingsByPrincipal.ToFrozenDictionary(StringComparer.Ordinal);
        PoliciesByCognitoIdentity = policiesByCognitoIdentity.ToFrozenDictionary(StringComparer.Ordinal);
        IamPolicies = iamPolicies.ToFrozenDictionary(p => p.Name, StringComparer.Ordinal);
        var principals = iamPrincipals.ToArray();
        IamUsers = principals.Where(p => p.Kind == IamPrincipalKind.User).ToFrozenDictionary(p => p.Name, StringComparer.Ordinal);
        IamGroups = principals.Where(p => p.Kind == IamPrincipalKind.Group).ToFrozenDictionary(p => p.Name, StringComparer.Ordinal);
        IamRoles = principals.Where(p => p.Kind == IamPrincipalKind.Role).ToFrozenDictionary(p => p.Name, StringComparer.Ordinal);
        AccessKeys = accessKeys.ToFrozenDictionary(k => k.Id, StringComparer.Ordinal);
        CognitoPools = cognitoPools.ToFrozenDictionary(p => p.Id, StringComparer.Ordinal);
        Files = files;
    }

    /// <summary>Increases by one with every snapshot the process accepts.</summary>
    public long Generation { get; }

    public DateTimeOffset LoadedAt { get; }

    /// <summary>SHA-256 over the names and contents of every file read; equal fingerprints mean equal input.</summary>
    public string Fingerprint { get; }

    public string AccountId { get; }

    public string Region { get; }

    /// <summary>AWS IoT policies by name.</summary>
    public FrozenDictionary<string, IotPolicy> Policies { get; }

    /// <summary>Whether any AWS IoT policy is in shadow mode; without one, resolving a principal skips the shadow bookkeeping.</summary>
    internal bool HasShadowPolicies { get; }

    /// <summary>Device certificates by certificate ID.</summary>
    public FrozenDictionary<string, CertificateRecord> Certificates { get; }

    /// <summary>CA certificates by certificate ID.</summary>
    public FrozenDictionary<string, CaCertificateRecord> CaCertificates { get; }

    public FrozenDictionary<string, ThingRecord> Things { get; }

    public FrozenDictionary<string, ThingGroupRecord> ThingGroups { get; }

    /// <summary>Things attached to a principal, keyed by certificate ID or Cognito identity ID.</summary>
    public FrozenDictionary<string, IReadOnlyList<ThingAttachment>> ThingsByPrincipal { get; }

    /// <summary>AWS IoT policies attached to Cognito identity IDs.</summary>
    public FrozenDictionary<string, IReadOnlyList<string>> PoliciesByCognitoIdentity { get; }

    public FrozenDictionary<string, IamManagedPolicy> IamPolicies { get; }

    public FrozenDictionary<string, IamPrincipal> IamUsers { get; }

    public FrozenDictionary<string, IamPrincipal> IamGroups { get; }

    public FrozenDictionary<string, IamPrincipal> IamRoles { get; }

    public FrozenDictionary<string, AccessKeyRecord> AccessKeys { get; }

    public FrozenDictionary<string, CognitoIdentityPool> CognitoPools { get; }

    /// <summary>IAM OpenID Connect providers by URL (the issuer their tokens carry).</summary>
    public FrozenDictionary<string, OidcProvider> OidcProviders { get; internal init; } = FrozenDictionary<string, OidcProvider>.Empty;

    /// <summary>Role trust statements for web identities, by provider URL, in the order the roles are declared.</summary>
    public FrozenDictionary<string, IReadOnlyList<WebIdentityTrust>> WebIdentityTrusts { get; internal init; } = FrozenDictionary<string, IReadOnlyList<WebIdentityTrust>>.Empty;

    /// <summary>Principals worked out against this snapshot; it lives and dies with the snapshot.</summary>
    internal PrincipalCache Cache { get; } = new();

    /// <summary>
    /// A per-snapshot object owned by a higher layer (the identity layer's certificate cache, for
    /// example): created on first use, one per type <typeparamref name="T"/>, and dropped with the
    /// snapshot, so a reload starts it afresh. Under contention <paramref name="create"/> may run more
    /// than once, but only one result is kept and every caller gets that one.
    /// </summary>
    public T GetOrAddExtension<T>(Func<RegistrySnapshot, T> create)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(create);
        return (T)extensions.GetOrAdd(typeof(T), static (_, state) => state.create(state.snapshot), (create, snapshot: this));
    }

    private readonly ConcurrentDictionary<Type, object> extensions = new();

    /// <summary>Every file the snapshot was built from (paths as read).</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary><c>arn:aws:iot:{region}:{account}:{resource}</c>.</summary>
    public string IotArn(string resource) => string.Concat(iotArnPrefix, resource);

    /// <summary>The groups of a thing group chain, the group itself first, then its parents.</summary>
    public IEnumerable<ThingGroupRecord> GroupAndAncestors(string groupName)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var name = groupName; name is not null && seen.Add(name) && ThingGroups.TryGetValue(name, out var group); name = group.Parent)
        {
            yield return group;
        }
    }
}
