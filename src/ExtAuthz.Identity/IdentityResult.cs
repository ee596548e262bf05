using ExtAuthz.Registry;

namespace ExtAuthz.Identity;

/// <summary>
/// Why a credential did not yield a principal. Every identity kind (X.509 today; Cognito and SigV4
/// beside it) reports one of these with a precise reason, so the transport can pick a status code and
/// metrics can count refusals by kind without reading reason texts.
/// </summary>
public enum IdentityFailure
{
    /// <summary>The identity was established.</summary>
    None,

    /// <summary>No credential was presented (no certificate, an empty header).</summary>
    Missing,

    /// <summary>The credential is not well-formed: bad encoding, garbage, truncated, several where one belongs, a digest that does not match.</summary>
    Malformed,

    /// <summary>Well-formed, but the registry does not know it (and nothing auto-registers it).</summary>
    Unregistered,

    /// <summary>Known, but not ACTIVE (INACTIVE, REVOKED, PENDING_ACTIVATION, …).</summary>
    NotActive,

    /// <summary>Outside its validity period: not valid yet.</summary>
    NotYetValid,

    /// <summary>Outside its validity period: expired.</summary>
    Expired,
}

/// <summary>
/// The outcome of turning a credential into a principal: the registry's <see cref="Authentication"/>
/// (a subject ready to decide, or the refusal's reason), the kind of failure, and the credential's
/// identifier when it could be read (a certificate ID, an access key ID, a Cognito identity ID).
/// </summary>
public readonly record struct IdentityResult(Authentication Authentication, IdentityFailure Failure, string? CredentialId)
{
    public bool Succeeded => Authentication.Succeeded;

    public AuthorizationSubject? Subject => Authentication.Subject;

    /// <summary>Why the credential was refused; null on success.</summary>
    public string? FailureReason => Authentication.FailureReason;

    public static IdentityResult Fail(IdentityFailure failure, string reason, string? credentialId = null) =>
        new(Authentication.Fail(reason), failure, credentialId);

    public override string ToString() => Succeeded ? $"{Subject!.Kind} {Subject.PrincipalId}" : $"{Failure}: {FailureReason}";
}
