using System.Security.Cryptography.X509Certificates;
using ExtAuthz.Policy;

namespace ExtAuthz.Registry;

/// <summary>AWS IoT's certificate states (UpdateCertificate's values).</summary>
public enum CertificateStatus
{
    Active,
    Inactive,
    Revoked,
    PendingTransfer,
    PendingActivation,
    RegisterInactive,
}

public static class CertificateStatusNames
{
    private static readonly Dictionary<string, CertificateStatus> ByName = new(StringComparer.Ordinal)
    {
        ["ACTIVE"] = CertificateStatus.Active,
        ["INACTIVE"] = CertificateStatus.Inactive,
        ["REVOKED"] = CertificateStatus.Revoked,
        ["PENDING_TRANSFER"] = CertificateStatus.PendingTransfer,
        ["PENDING_ACTIVATION"] = CertificateStatus.PendingActivation,
        ["REGISTER_INACTIVE"] = CertificateStatus.RegisterInactive,
    };

    public static IEnumerable<string> All => ByName.Keys;

    public static bool TryParse(string text, out CertificateStatus status) => ByName.TryGetValue(text, out status);

    /// <summary>AWS's spelling, e.g. <c>PENDING_ACTIVATION</c>.</summary>
    public static string ToAwsString(this CertificateStatus status) => ByName.First(p => p.Value == status).Key;
}

/// <summary>One version of a named AWS IoT policy.</summary>
public sealed record IotPolicyVersion(string VersionId, PolicyDocument Document, ConfigSource Source);

/// <summary>
/// A named AWS IoT policy with its versions; <see cref="Document"/> is the default version, the one in effect.
/// A <see cref="Shadow"/> policy (all its versions) is evaluated and logged beside the enforced
/// decision but never enforced: <see cref="AuthorizationSubject.Policies"/> leaves it out and
/// <see cref="AuthorizationSubject.DecideShadow"/> puts it in.
/// </summary>
public sealed record IotPolicy(string Name, string Arn, IReadOnlyList<IotPolicyVersion> Versions, string DefaultVersionId, bool Shadow = false)
{
    public PolicyDocument Document => Versions.First(v => v.VersionId == DefaultVersionId).Document;
}

/// <summary>
/// A certificate's DER and ID, with the parsed form created on first use. Parsing an X.509 certificate
/// costs about 100 µs, so a fleet of 100,000 is checked structurally when loaded and each certificate
/// is parsed when a principal first needs it; reloads pass the same instance on, so it is parsed once.
/// </summary>
public sealed class CertificateData
{
    private readonly Lazy<Parsed> parsed;

    public CertificateData(string id, byte[] der)
    {
        Id = id;
        Der = der;
        parsed = new Lazy<Parsed>(() => new Parsed(X509CertificateLoader.LoadCertificate(der)), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public CertificateData(string id, X509Certificate2 certificate)
    {
        Id = id;
        Der = certificate.RawData;
        parsed = new Lazy<Parsed>(new Parsed(certificate));
    }

    /// <summary>The AWS IoT certificate ID: the lowercase hex SHA-256 of the DER.</summary>
    public string Id { get; }

    public ReadOnlyMemory<byte> Der { get; }

    /// <summary>The parsed certificate (parsed on first use; a structurally valid DER that the platform still refuses throws CryptographicException).</summary>
    public X509Certificate2 Certificate => parsed.Value.Certificate;

    /// <summary>The start of the validity period in UTC, read once (X509Certificate2 converts it to local time on every read).</summary>
    public DateTime NotBeforeUtc => parsed.Value.NotBeforeUtc;

    /// <summary>The end of the validity period in UTC, read once.</summary>
    public DateTime NotAfterUtc => parsed.Value.NotAfterUtc;

    private sealed class Parsed(X509Certificate2 certificate)
    {
        public X509Certificate2 Certificate { get; } = certificate;

        public DateTime NotBeforeUtc { get; } = certificate.NotBefore.ToUniversalTime();

        public DateTime NotAfterUtc { get; } = certificate.NotAfter.ToUniversalTime();
    }
}

/// <summary>A device certificate as AWS IoT registers it; the ID is the lowercase hex SHA-256 of the DER.</summary>
public sealed record CertificateRecord(
    string Id,
    string Arn,
    CertificateStatus Status,
    CertificateData Data,
    IReadOnlyList<string> Policies,
    string? Name,
    ConfigSource Source)
{
    /// <summary>The parsed certificate, parsed on first use.</summary>
    public X509Certificate2 Certificate => Data.Certificate;
}

/// <summary>A CA certificate; with auto-registration, device certificates it signed are accepted without being listed.</summary>
public sealed record CaCertificateRecord(
    string Id,
    string Arn,
    CertificateStatus Status,
    CertificateData Data,
    bool AutoRegistration,
    CertificateStatus AutoRegisteredStatus,
    IReadOnlyList<string> Policies,
    string? Name,
    ConfigSource Source)
{
    /// <summary>The parsed CA certificate (CA certificates are parsed when loaded).</summary>
    public X509Certificate2 Certificate => Data.Certificate;
}

public sealed record ThingRecord(
    string Name,
    string Arn,
    string? TypeName,
    IReadOnlyDictionary<string, string> Attributes,
    IReadOnlyList<string> Groups,
    ConfigSource Source);

public sealed record ThingGroupRecord(string Name, string Arn, string? Parent, IReadOnlyList<string> Policies, ConfigSource Source);

/// <summary>AttachThingPrincipal: a certificate or Cognito identity attached to a thing, exclusively or not.</summary>
public sealed record ThingAttachment(ThingRecord Thing, bool Exclusive);

/// <summary>A customer-managed IAM policy.</summary>
public sealed record IamManagedPolicy(string Name, string Arn, PolicyDocument Document);

public enum IamPrincipalKind
{
    User,
    Group,
    Role,
}

/// <summary>An IAM user, group or role with every policy that applies to it resolved (inline, managed, and a user's groups').</summary>
public sealed record IamPrincipal(
    IamPrincipalKind Kind,
    string Name,
    string Arn,
    IReadOnlyList<PolicyDocument> Policies,
    IReadOnlyList<string> Groups,
    ConfigSource Source);

/// <summary>
/// An IAM access key; the secret comes from a mounted Secret file, never from a ConfigMap. A user's key
/// is long-term; a role's is temporary (an AssumeRole session): it is valid only with its
/// <see cref="SessionToken"/> (also from a file) and, when <see cref="Expiration"/> is set, only until then.
/// </summary>
public sealed record AccessKeyRecord(string Id, string Secret, IamPrincipal Owner, ConfigSource Source, string? SessionToken = null, DateTimeOffset? Expiration = null)
{
    /// <summary>Temporary credentials: the key needs its session token.</summary>
    public bool IsTemporary => SessionToken is not null;

    public override string ToString() => $"AccessKey {Id} ({Owner.Arn})";
}

/// <summary>A Cognito identity pool: its roles and how its tokens are verified.</summary>
public sealed record CognitoIdentityPool(
    string Id,
    string? AuthenticatedRole,
    string? UnauthenticatedRole,
    string Issuer,
    string? JwksJson,
    string? JwksUrl,
    ConfigSource Source);

/// <summary>
/// An IAM OpenID Connect identity provider (CreateOpenIDConnectProvider): tokens whose issuer is
/// <see cref="Url"/> and whose audience is one of <see cref="ClientIds"/> may assume the IAM roles whose
/// trust admits them (<see cref="WebIdentityTrust"/>), as AssumeRoleWithWebIdentity does. Keys come from
/// <see cref="JwksJson"/>, else <see cref="JwksUrl"/>, else the issuer's OpenID discovery document.
/// </summary>
public sealed record OidcProvider(string Url, string Arn, IReadOnlyList<string> ClientIds, string? JwksJson, string? JwksUrl, ConfigSource Source)
{
    /// <summary>The prefix of the provider's condition keys: its URL without <c>https://</c> (<c>idp.example.com:sub</c>), as AWS names them.</summary>
    public string KeyPrefix => Url["https://".Length..].TrimEnd('/');
}

/// <summary>
/// One statement of an IAM role's trust policy: <c>sts:AssumeRoleWithWebIdentity</c> allowed to the
/// provider's tokens when <see cref="Condition"/> (the statement's Condition element, compiled as a
/// one-statement policy allowing that action on the role) holds for the token's claims.
/// </summary>
public sealed record WebIdentityTrust(IamPrincipal Role, OidcProvider Provider, PolicySet Condition, ConfigSource Source)
{
    public const string AssumeAction = "sts:AssumeRoleWithWebIdentity";

    /// <summary>Whether the trust admits a token whose claims are <paramref name="claims"/> (<c>{prefix}:sub</c>, <c>:aud</c>, <c>:amr</c>, <c>aws:SourceIp</c>).</summary>
    public bool Admits(IRequestContext claims) =>
        PolicyEvaluator.Decide(Condition, new AuthorizationRequest(AssumeAction, Role.Arn, claims)).IsAllowed;
}

/// <summary>Where a configuration item came from, for error messages and lint findings.</summary>
public sealed record ConfigSource(string File, int Line, int Column)
{
    public override string ToString() => Line > 0 ? $"{File}:{Line}:{Column}" : File;
}
