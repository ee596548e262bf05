namespace ExtAuthz.Envoy.Checking;

/// <summary>
/// The request headers an allowed request carries upstream: who the caller is, as we established it.
/// Every one is set with <c>OVERWRITE_IF_EXISTS_OR_ADD</c>, and those we do not set are in
/// <c>headers_to_remove</c>, so an upstream never sees a client's forged copy.
/// </summary>
public static class IdentityHeaders
{
    public const string DecisionId = "x-extauthz-decision-id";

    /// <summary>Certificate ID, Cognito identity ID, IAM user or role name.</summary>
    public const string Principal = "x-extauthz-principal";

    public const string PrincipalKind = "x-extauthz-principal-kind";

    public const string PrincipalArn = "x-extauthz-principal-arn";

    /// <summary>The things attached to the principal (AttachThingPrincipal), comma-separated, when there are any.</summary>
    public const string Things = "x-extauthz-things";

    /// <summary>The session handle answered to a WebSocket upgrade (<c>GET /mqtt</c>), for the MQTT gate.</summary>
    public const string Session = "x-extauthz-session";

    /// <summary>All of them, in the order they are written.</summary>
    public static IReadOnlyList<string> All { get; } = [DecisionId, Principal, PrincipalKind, PrincipalArn, Things, Session];
}
