using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ExtAuthz.Policy;
using ExtAuthz.Registry.Iot;

namespace ExtAuthz.Registry;

/// <summary>
/// Works out, as AWS IoT does before evaluating, which policies apply to a principal on a connection and
/// what the request context holds. Certificates must be ACTIVE (registered, or signed by an ACTIVE CA
/// that auto-registers them) or they are refused before any policy. Everything that depends only on the
/// principal is cached per snapshot, keyed by certificate ID; a connection then costs one small object.
/// Shadow AWS IoT policies, whatever route attaches them, are kept out of the enforced sets and put in
/// the subject's shadow sets instead.
/// </summary>
public static class PrincipalResolver
{
    /// <summary>A certificate presented on a connection (registered or auto-registered).</summary>
    public static Authentication ForCertificate(RegistrySnapshot snapshot, X509Certificate2 certificate, ConnectionFacts facts, TimeProvider? time = null, PolicyOverrides? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(certificate);
        if (OutsideValidity(certificate, time) is { } invalid)
        {
            return Authentication.Fail(invalid);
        }

        var id = Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));
        if (snapshot.Cache.Certificates.TryGetValue(id, out var known))
        {
            return Subject(snapshot, known, facts, overrides);
        }

        // Registered certificates, and unregistered ones a CA accepted, are cached; a refused stranger is
        // not, so certificates an attacker mints cannot grow the cache.
        var principal = Describe(snapshot, id, certificate);
        if (principal.Failure is null || snapshot.Certificates.ContainsKey(id))
        {
            principal = snapshot.Cache.Certificates.GetOrAdd(id, principal);
        }

        return Subject(snapshot, principal, facts, overrides);
    }

    /// <summary>A registered certificate named by its ID (Envoy's cached identity, TestAuthorization's principal).</summary>
    public static Authentication ForCertificateId(RegistrySnapshot snapshot, string certificateId, ConnectionFacts facts, PolicyOverrides? overrides = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(certificateId);
        if (!snapshot.Certificates.TryGetValue(certificateId, out var record))
        {
            return snapshot.Cache.Certificates.TryGetValue(certificateId, out var known)
                ? Subject(snapshot, known, facts, overrides)
                : Authentication.Fail($"certificate {certificateId} is not registered");
        }

        X509Certificate2 certificate;
        try
        {
            certificate = record.Certificate;
        }
        catch (CryptographicException ex)
        {
            return Authentication.Fail($"registered certificate {certificateId} cannot be parsed: {ex.Message}");
        }

        if (OutsideValidity(record.Data.NotBeforeUtc, record.Data.NotAfterUtc, time) is { } invalid)
        {
            return Authentication.Fail(invalid);
        }

        var principal = snapshot.Cache.Certificates.GetOrAdd(certificateId, static (key, state) => Describe(state.snapshot, key, state.certificate), (snapshot, certificate));
        return Subject(snapshot, principal, facts, overrides);
    }

    /// <summary>
    /// A Cognito identity. Unauthenticated: the pool's unauthenticated role policies. Authenticated: the
    /// authenticated role policies, scoped down for the data-plane actions by the IoT policies attached to
    /// the identity (none attached: those actions are denied).
    /// </summary>
    public static Authentication ForCognito(RegistrySnapshot snapshot, string identityId, string poolId, bool authenticated, ConnectionFacts facts,
        IReadOnlyList<string>? authenticationMethods = null, PolicyOverrides? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (!snapshot.CognitoPools.TryGetValue(poolId, out var pool))
        {
            return Authentication.Fail($"Cognito identity pool {poolId} is not configured");
        }

        var roleName = authenticated ? pool.AuthenticatedRole : pool.UnauthenticatedRole;
        if (roleName is null || !snapshot.IamRoles.TryGetValue(roleName, out var role))
        {
            return Authentication.Fail($"identity pool {poolId} has no {(authenticated ? "authenticated" : "unauthenticated")} role");
        }

        var values = new Dictionary<string, ContextValue>(StringComparer.OrdinalIgnoreCase)
        {
            ["cognito-identity.amazonaws.com:sub"] = identityId,
            ["cognito-identity.amazonaws.com:aud"] = poolId,
            ["cognito-identity.amazonaws.com:amr"] = (authenticationMethods ?? [authenticated ? "authenticated" : "unauthenticated"]).ToArray(),
            ["aws:PrincipalArn"] = role.Arn,
        };
        var rolePolicies = IamPrincipal(snapshot, role).Policies;
        PolicySet? boundary = null;
        PolicySet? shadowBoundary = null;
        if (authenticated)
        {
            var attached = snapshot.PoliciesByCognitoIdentity.TryGetValue(identityId, out var names) ? names : [];
            (boundary, shadowBoundary) = EnforcedAndShadow(snapshot, attached, overrides);
        }

        var things = snapshot.ThingsByPrincipal.TryGetValue(identityId, out var attachments) ? attachments : [];
        var (thing, thingValues, isAttached) = ResolveThing(snapshot, things, facts.ClientId);
        var kind = authenticated ? PrincipalKind.CognitoAuthenticated : PrincipalKind.CognitoUnauthenticated;

        // A Cognito identity's IoT policies are only its scope-down, so with shadow policies the role's
        // policies stay as they are and the shadow boundary replaces the enforced one.
        return new Authentication(new AuthorizationSubject(kind, identityId, identityId, snapshot, rolePolicies, boundary,
            shadowBoundary is null ? null : rolePolicies, shadowBoundary,
            Context(values.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase), thingValues, isAttached, facts, snapshot), thing), null);
    }

    /// <summary>An IAM user or role: its IAM policies (inline, managed and its groups').</summary>
    public static Authentication ForIam(RegistrySnapshot snapshot, IamPrincipal principal, ConnectionFacts facts)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(principal);
        var (policies, values) = IamPrincipal(snapshot, principal);

        var kind = principal.Kind == IamPrincipalKind.Role ? PrincipalKind.IamRole : PrincipalKind.IamUser;
        return new Authentication(new AuthorizationSubject(kind, principal.Name, principal.Arn, snapshot, policies, null, null, null,
            Context(values, null, null, facts, snapshot), null), null);
    }

    /// <summary>A thing group as TestAuthorization's principal: the policies attached to it and its ancestors.</summary>
    public static Authentication ForThingGroup(RegistrySnapshot snapshot, string groupName, ConnectionFacts facts, PolicyOverrides? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (!snapshot.ThingGroups.TryGetValue(groupName, out var group))
        {
            return Authentication.Fail($"thing group {groupName} is not defined");
        }

        var names = snapshot.GroupAndAncestors(groupName).SelectMany(g => g.Policies).Distinct(StringComparer.Ordinal).ToArray();
        var sets = EnforcedAndShadow(snapshot, names, overrides);
        return new Authentication(new AuthorizationSubject(PrincipalKind.ThingGroup, groupName, group.Arn, snapshot, sets.Enforced, null, sets.Shadow, null,
            Context(FrozenDictionary<string, ContextValue>.Empty, null, null, facts, snapshot), null), null);
    }

    /// <summary>Why the certificate is outside its validity period now, or null.</summary>
    private static string? OutsideValidity(X509Certificate2 certificate, TimeProvider? time) =>
        OutsideValidity(certificate.NotBefore.ToUniversalTime(), certificate.NotAfter.ToUniversalTime(), time);

    private static string? OutsideValidity(DateTime notBefore, DateTime notAfter, TimeProvider? time)
    {
        var now = (time ?? TimeProvider.System).GetUtcNow();
        return now < notBefore ? $"certificate is not valid before {notBefore:O}"
            : now > notAfter ? $"certificate expired at {notAfter:O}"
            : null;
    }

    private static Authentication Subject(RegistrySnapshot snapshot, CertificatePrincipal principal, ConnectionFacts facts, PolicyOverrides? overrides)
    {
        if (principal.Failure is { } failure)
        {
            return Authentication.Fail(failure);
        }

        var (thing, thingValues, isAttached) = ResolveThing(snapshot, principal.Things, facts.ClientId);
        var sets = overrides is null || overrides.IsEmpty
            ? principal.PolicySets.GetOrAdd(thing?.Name ?? "", static (_, state) =>
                EnforcedAndShadow(state.snapshot, PolicyNames(state.snapshot, state.principal, state.thing), null), (snapshot, principal, thing))
            : EnforcedAndShadow(snapshot, PolicyNames(snapshot, principal, thing), overrides);

        return new Authentication(new AuthorizationSubject(PrincipalKind.Certificate, principal.Id, principal.Arn, snapshot, sets.Enforced, null, sets.Shadow, null,
            Context(principal.Variables, thingValues, isAttached, facts, snapshot), thing), null);
    }

    /// <summary>The certificate's own policies, then (when the connection resolved to a thing) its groups' and their ancestors'.</summary>
    private static List<string> PolicyNames(RegistrySnapshot snapshot, CertificatePrincipal principal, ThingRecord? thing)
    {
        var names = new List<string>(principal.PolicyNames);
        if (thing is not null)
        {
            names.AddRange(thing.Groups.SelectMany(snapshot.GroupAndAncestors).SelectMany(g => g.Policies));
        }

        return names.Distinct(StringComparer.Ordinal).ToList();
    }

    private static IEnumerable<string> Apply(IEnumerable<string> names, PolicyOverrides? overrides) =>
        overrides is null ? names : names.Concat(overrides.Add).Distinct(StringComparer.Ordinal).Where(n => !overrides.Skip.Contains(n, StringComparer.Ordinal));

    /// <summary>
    /// The attached policies with the overrides applied: enforced without the shadow ones, and, when
    /// some are shadow, all of them as the shadow set. A shadow policy named by <c>policyNamesToAdd</c>
    /// is enforced, since TestAuthorization is asked to treat it as attached.
    /// </summary>
    private static IotPolicySets EnforcedAndShadow(RegistrySnapshot snapshot, IEnumerable<string> attached, PolicyOverrides? overrides)
    {
        var names = Apply(attached, overrides).ToArray();
        if (!snapshot.HasShadowPolicies)
        {
            return new IotPolicySets(IotPolicies(snapshot, names), null);
        }

        var enforced = Array.FindAll(names, name =>
            !(snapshot.Policies.TryGetValue(name, out var policy) && policy.Shadow) || (overrides is not null && overrides.Add.Contains(name, StringComparer.Ordinal)));
        return enforced.Length == names.Length
            ? new IotPolicySets(IotPolicies(snapshot, names), null)
            : new IotPolicySets(IotPolicies(snapshot, enforced), IotPolicies(snapshot, names));
    }

    private static PolicySet IotPolicies(RegistrySnapshot snapshot, string[] names)
    {
        var key = string.Join('\n', names);
        return snapshot.Cache.PolicySets.GetOrAdd(key, static (_, state) =>
            PolicySet.Create(state.names.Where(state.snapshot.Policies.ContainsKey).Select(n => state.snapshot.Policies[n].Document)), (snapshot, names));
    }

    /// <summary>An IAM user's or role's compiled policies and principal keys, worked out once per snapshot.</summary>
    private static (PolicySet Policies, FrozenDictionary<string, ContextValue> Values) IamPrincipal(RegistrySnapshot snapshot, IamPrincipal principal) =>
        snapshot.Cache.IamPrincipals.GetOrAdd(principal.Arn, static (_, principal) =>
        {
            var keys = new Dictionary<string, ContextValue>(StringComparer.OrdinalIgnoreCase) { ["aws:PrincipalArn"] = principal.Arn };
            if (principal.Kind == IamPrincipalKind.User)
            {
                keys["aws:username"] = principal.Name;
            }

            return (PolicySet.Create(principal.Policies), keys.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase));
        }, principal);

    /// <summary>
    /// The thing whose variables a connection gets: an exclusively attached thing, else the attached thing
    /// named by the client ID. Over HTTP (no client ID) there are no thing variables at all.
    /// </summary>
    private static (ThingRecord? Thing, FrozenDictionary<string, ContextValue>? Values, string? IsAttached) ResolveThing(
        RegistrySnapshot snapshot, IReadOnlyList<ThingAttachment> attachments, string? clientId)
    {
        if (clientId is null)
        {
            return (null, null, null);
        }

        ThingRecord? thing = null;
        foreach (var attachment in attachments)
        {
            if (attachment.Exclusive || attachment.Thing.Name == clientId)
            {
                thing = attachment.Thing;
                break;
            }
        }

        if (thing is null)
        {
            return (null, null, "false");
        }

        var values = snapshot.Cache.ThingValues.GetOrAdd(thing.Name, static (_, t) => ThingValues(t), thing);
        return (thing, values, "true");
    }

    private static FrozenDictionary<string, ContextValue> ThingValues(ThingRecord thing)
    {
        var values = new Dictionary<string, ContextValue>(StringComparer.OrdinalIgnoreCase)
        {
            ["iot:Connection.Thing.ThingName"] = thing.Name,
        };
        if (thing.TypeName is not null)
        {
            values["iot:Connection.Thing.ThingTypeName"] = thing.TypeName;
        }

        foreach (var (name, value) in thing.Attributes)
        {
            values[$"iot:Connection.Thing.Attributes[{name}]"] = value;
        }

        return values.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    private static IotRequestContext Context(FrozenDictionary<string, ContextValue> principalValues, FrozenDictionary<string, ContextValue>? thingValues,
        string? isAttached, ConnectionFacts facts, RegistrySnapshot snapshot)
    {
        string[]? attributes = null;
        if (facts.ClientId is not null)
        {
            attributes = (facts.PersistentSession, facts.LastWillTopic is not null) switch
            {
                (true, true) => ConnectAttributes.Both,
                (true, false) => ConnectAttributes.Persistent,
                (false, true) => ConnectAttributes.LastWill,
                _ => ConnectAttributes.None,
            };
        }

        var willArn = facts.LastWillTopic is null ? null : snapshot.IotArn("topic/" + facts.LastWillTopic);
        return new IotRequestContext(principalValues, thingValues, facts.ClientId, facts.SourceIp, facts.DomainName, attributes, willArn, isAttached);
    }

    /// <summary>Everything about a certificate that does not depend on the connection.</summary>
    private static CertificatePrincipal Describe(RegistrySnapshot snapshot, string id, X509Certificate2 certificate)
    {
        var variables = CertificateVariables.Extract(certificate);
        variables["iot:CertificateId"] = id;
        var frozen = variables.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        var things = snapshot.ThingsByPrincipal.TryGetValue(id, out var attachments) ? attachments : [];
        var arn = snapshot.IotArn("cert/" + id);
        if (snapshot.Certificates.TryGetValue(id, out var record))
        {
            var failure = record.Status == CertificateStatus.Active ? null : $"certificate {id} is {record.Status.ToAwsString()}, not ACTIVE";
            return new CertificatePrincipal(id, arn, record.Status, failure, record.Policies, things, frozen);
        }

        // Not registered: only a CA that auto-registers, and whose key verifies the certificate, can vouch for it.
        var issuer = IssuingCa(snapshot, certificate);
        if (issuer is null || !issuer.AutoRegistration)
        {
            return new CertificatePrincipal(id, arn, CertificateStatus.Inactive, $"certificate {id} is not registered and no auto-registering CA signed it", [], things, frozen);
        }

        if (issuer.Status != CertificateStatus.Active)
        {
            return new CertificatePrincipal(id, arn, CertificateStatus.Inactive, $"certificate {id} is not registered and its CA {issuer.Id} is {issuer.Status.ToAwsString()}, so it cannot be auto-registered", [], things, frozen);
        }

        var status = issuer.AutoRegisteredStatus;
        var refusal = status == CertificateStatus.Active ? null : $"certificate {id} was auto-registered as {status.ToAwsString()}, not ACTIVE";
        return new CertificatePrincipal(id, arn, status, refusal, issuer.Policies, things, frozen);
    }

    /// <summary>The registered CA whose subject is the certificate's issuer and whose key verifies its signature.</summary>
    private static CaCertificateRecord? IssuingCa(RegistrySnapshot snapshot, X509Certificate2 certificate)
    {
        foreach (var ca in snapshot.CaCertificates.Values)
        {
            if (!ca.Certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData))
            {
                continue;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca.Certificate);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.VerificationFlags = X509VerificationFlags.IgnoreNotTimeValid | X509VerificationFlags.IgnoreCtlNotTimeValid;
            if (chain.Build(certificate) && chain.ChainElements.Count == 2)
            {
                return ca;
            }
        }

        return null;
    }

    private static class ConnectAttributes
    {
        public static readonly string[] None = [];
        public static readonly string[] Persistent = ["PersistentConnect"];
        public static readonly string[] LastWill = ["LastWill"];
        public static readonly string[] Both = ["PersistentConnect", "LastWill"];
    }
}
