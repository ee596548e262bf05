using ExtAuthz.Identity;
using ExtAuthz.Identity.Sessions;
using ExtAuthz.Registry;

namespace ExtAuthz.Mqtt.Gate;

/// <summary>
/// How a connection's principal is found, fixed by its intake when the connection arrives and applied
/// at CONNECT (the client ID and CONNECT flags are part of the context) and again against every new
/// configuration snapshot, so a certificate revoked or a policy detached reaches live connections.
/// </summary>
public abstract class ClientIdentity
{
    /// <summary>The certificate ID or principal the intake knows before CONNECT, for refusals logged before any identity is resolved.</summary>
    public abstract string? Principal { get; }

    public abstract IdentityResult Resolve(RegistrySnapshot snapshot, ConnectionFacts facts, TimeProvider time);

    /// <summary>A client certificate as Envoy's <c>%DOWNSTREAM_PEER_CERT%</c> gives it (URL-encoded PEM), or as the gate's own TLS listener received it.</summary>
    public static ClientIdentity Certificate(string? urlEncodedPem) => new CertificateIdentity(urlEncodedPem);

    /// <summary>A principal vouched for by a verified session handle (MQTT over WebSocket after Envoy's ext_authz allowed the upgrade).</summary>
    public static ClientIdentity Session(SessionClaims claims, string? urlEncodedPem)
    {
        ArgumentNullException.ThrowIfNull(claims);
        return new SessionIdentity(claims, urlEncodedPem);
    }

    /// <summary>A registered certificate named by ID stands for every client (the development plain-TCP listener).</summary>
    public static ClientIdentity Fixed(string certificateId) => new FixedIdentity(certificateId);

    private sealed class CertificateIdentity(string? urlEncodedPem) : ClientIdentity
    {
        public override string? Principal => null;

        public override IdentityResult Resolve(RegistrySnapshot snapshot, ConnectionFacts facts, TimeProvider time) =>
            X509CertificateIdentity.FromEnvoyCertificate(snapshot, urlEncodedPem, facts, time);
    }

    /// <summary>
    /// The handle names the principal, resolved again against each snapshot as the Check service
    /// resolved it: a certificate (by ID), a Cognito identity (in the pool the handle names), or an IAM
    /// user or role (by name). For a certificate, a certificate header beside the handle (the route's
    /// <c>%DOWNSTREAM_PEER_CERT%</c>) is used when it is that same certificate, so that an auto-registered
    /// certificate (which the registry knows only through its CA) still resolves after a reload.
    /// </summary>
    private sealed class SessionIdentity(SessionClaims claims, string? urlEncodedPem) : ClientIdentity
    {
        public override string? Principal => claims.PrincipalId;

        public override IdentityResult Resolve(RegistrySnapshot snapshot, ConnectionFacts facts, TimeProvider time)
        {
            var withFacts = facts with { SourceIp = claims.SourceIp ?? facts.SourceIp, DomainName = claims.DomainName ?? facts.DomainName };
            if (!Enum.TryParse<PrincipalKind>(claims.PrincipalKind, out var kind))
            {
                return IdentityResult.Fail(IdentityFailure.Malformed, $"the session handle names an unknown kind of principal, {claims.PrincipalKind}", claims.PrincipalId);
            }

            switch (kind)
            {
                case PrincipalKind.Certificate:
                    if (!string.IsNullOrEmpty(urlEncodedPem))
                    {
                        var byCertificate = X509CertificateIdentity.FromEnvoyCertificate(snapshot, urlEncodedPem, withFacts, time);
                        if (byCertificate.CredentialId == claims.PrincipalId)
                        {
                            return byCertificate;
                        }
                    }

                    return ById(snapshot, claims.PrincipalId, withFacts, time);
                case PrincipalKind.CognitoAuthenticated or PrincipalKind.CognitoUnauthenticated when claims.PoolId is { } pool:
                    return Named(PrincipalResolver.ForCognito(snapshot, claims.PrincipalId, pool, kind == PrincipalKind.CognitoAuthenticated, withFacts));
                case PrincipalKind.IamUser or PrincipalKind.IamRole:
                    var principals = kind == PrincipalKind.IamUser ? snapshot.IamUsers : snapshot.IamRoles;
                    return principals.TryGetValue(claims.PrincipalId, out var principal)
                        ? Named(PrincipalResolver.ForIam(snapshot, principal, withFacts))
                        : IdentityResult.Fail(IdentityFailure.Unregistered, $"IAM {(kind == PrincipalKind.IamUser ? "user" : "role")} {claims.PrincipalId} is not configured");
                default:
                    return IdentityResult.Fail(IdentityFailure.Malformed,
                        $"the session handle names a {claims.PrincipalKind} principal{(kind is PrincipalKind.CognitoAuthenticated or PrincipalKind.CognitoUnauthenticated ? " without its identity pool" : "")}, which the MQTT gate cannot resolve",
                        claims.PrincipalId);
            }
        }

        private static IdentityResult Named(Authentication authentication) =>
            new(authentication, authentication.Succeeded ? IdentityFailure.None : IdentityFailure.Unregistered, null);
    }

    private sealed class FixedIdentity(string certificateId) : ClientIdentity
    {
        public override string? Principal => certificateId;

        public override IdentityResult Resolve(RegistrySnapshot snapshot, ConnectionFacts facts, TimeProvider time) =>
            ById(snapshot, certificateId, facts, time);
    }

    private static IdentityResult ById(RegistrySnapshot snapshot, string certificateId, ConnectionFacts facts, TimeProvider time)
    {
        var authentication = PrincipalResolver.ForCertificateId(snapshot, certificateId, facts, null, time);
        if (authentication.Succeeded)
        {
            return new IdentityResult(authentication, IdentityFailure.None, certificateId);
        }

        // PrincipalResolver refuses a registered ACTIVE certificate only for its validity period or an unreadable PEM.
        var reason = authentication.FailureReason ?? "";
        var failure = !snapshot.Certificates.TryGetValue(certificateId, out var record) ? IdentityFailure.Unregistered
            : record.Status != CertificateStatus.Active ? IdentityFailure.NotActive
            : reason.Contains("cannot be parsed", StringComparison.Ordinal) ? IdentityFailure.Malformed
            : reason.Contains("not valid before", StringComparison.Ordinal) ? IdentityFailure.NotYetValid
            : IdentityFailure.Expired;
        return new IdentityResult(authentication, failure, certificateId);
    }
}
