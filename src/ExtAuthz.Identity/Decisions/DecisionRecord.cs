namespace ExtAuthz.Identity.Decisions;

/// <summary>
/// One decision, of the Check service or the MQTT gate, as the decision log writes it and the metrics
/// count it: who asked (principal, certificate, thing, MQTT client), what for (operation, action,
/// resource), what we decided and why (the deciding policy and statement, or the refusal's reason), what
/// we answered (<see cref="Enforced"/> is false under <c>--dry-run</c>, when the answer was allow
/// whatever the decision), and how long it took. It lives below both (they never reference each other).
/// </summary>
public sealed record DecisionRecord
{
    public required DateTimeOffset Time { get; init; }

    /// <summary>The ID we returned to Envoy (response header, deny body, dynamic metadata).</summary>
    public required string DecisionId { get; init; }

    /// <summary>
    /// Where the request arrived: <c>mqtt</c> (8883), <c>https</c> (443) or <c>mtls</c> (8443) for the
    /// Check service; <c>mqtttunnel</c>, <c>mqttwebsocket</c>, <c>mqtttls</c> or <c>mqtttcp</c> for the
    /// gate. Lower-case letters only: the metrics use it as a label.
    /// </summary>
    public required string Listener { get; init; }

    /// <summary>
    /// What the request was: <c>Connection</c> (8883), <c>Publish</c>, <c>GetThingShadow</c>,
    /// <c>WebSocketUpgrade</c>, …, <c>Unknown</c> when unreadable; for the gate <c>Connect</c>,
    /// <c>Recheck</c> (a live connection re-checked after a configuration change), <c>Publish</c>,
    /// <c>Subscribe</c>, <c>Receive</c> or <c>Protocol</c> (a refusal before any action).
    /// </summary>
    public required string Operation { get; init; }

    /// <summary>
    /// <c>ALLOWED</c>, <c>EXPLICIT_DENY</c>, <c>IMPLICIT_DENY</c> (policy decisions), <c>UNAUTHENTICATED</c>
    /// (no or bad credentials), <c>INVALID_REQUEST</c> (malformed request), <c>NOT_FOUND</c> (no such
    /// data-plane operation), <c>UNAVAILABLE</c> (no configuration loaded yet) or <c>ERROR</c> (a bug, answered as a deny).
    /// </summary>
    public required string Decision { get; init; }

    /// <summary>Whether the answer followed the decision (false under <c>--dry-run</c>).</summary>
    public bool Enforced { get; init; } = true;

    public string? PrincipalKind { get; init; }

    /// <summary>Certificate ID, Cognito identity ID, IAM user/role name.</summary>
    public string? Principal { get; init; }

    public string? CertificateId { get; init; }

    /// <summary>The things attached to the principal, comma-separated (the one the request resolved, when it resolved one).</summary>
    public string? Thing { get; init; }

    /// <summary>The MQTT client ID (the MQTT gate's decisions); null over HTTP.</summary>
    public string? ClientId { get; init; }

    /// <summary>The IAM action decided (the first denied one when an operation needs several); null when none was reached.</summary>
    public string? Action { get; init; }

    public string? Resource { get; init; }

    /// <summary>The policy whose statement decided (null for implicit denies and refusals).</summary>
    public string? Policy { get; init; }

    /// <summary>That statement's Sid, or its index (<c>#2</c>) when it has none.</summary>
    public string? Statement { get; init; }

    /// <summary>Why, in words: the deny's reason, or the allow's deciding statement.</summary>
    public string? Reason { get; init; }

    /// <summary>With shadow policies attached: the decision had they been enforced; null otherwise.</summary>
    public string? ShadowDecision { get; init; }

    public string? ShadowPolicy { get; init; }

    public string? ShadowStatement { get; init; }

    /// <summary>The configuration snapshot that decided (0 when none was loaded).</summary>
    public long Generation { get; init; }

    /// <summary>Time spent deciding: the Check handler's, from receiving the CheckRequest to building the response; the gate's, identity and policy (not the network).</summary>
    public double LatencyMicroseconds { get; init; }
}
