namespace ExtAuthz.Mqtt.Gate;

/// <summary>
/// One decision of the MQTT gate, for the decision log and the metrics. The gate does not reference
/// the Envoy layer (where <c>DecisionRecord</c>, the log and the metrics live), so it hands these to
/// the host through <see cref="MqttGate"/>'s decision callback and the host turns each into a
/// <c>DecisionRecord</c>. Field for field the same meaning as there, plus the MQTT client ID.
/// </summary>
public sealed record GateDecision
{
    public required DateTimeOffset Time { get; init; }

    public required string DecisionId { get; init; }

    /// <summary>Where the MQTT connection reached the gate.</summary>
    public required GateIntake Intake { get; init; }

    /// <summary><c>Connect</c>, <c>Recheck</c> (a live connection re-checked after a configuration change), <c>Publish</c>, <c>Subscribe</c>, <c>Receive</c>, or <c>Protocol</c> (a refusal before any action: a bad first packet, a malformed packet).</summary>
    public required string Operation { get; init; }

    /// <summary><c>ALLOWED</c>, <c>EXPLICIT_DENY</c>, <c>IMPLICIT_DENY</c>, <c>UNAUTHENTICATED</c>, <c>INVALID_REQUEST</c>, <c>UNAVAILABLE</c> or <c>ERROR</c>, as the Check service names them.</summary>
    public required string Decision { get; init; }

    /// <summary>False under dry run, when the gate let through what it would have refused.</summary>
    public bool Enforced { get; init; } = true;

    public string? PrincipalKind { get; init; }

    public string? Principal { get; init; }

    public string? CertificateId { get; init; }

    public string? Thing { get; init; }

    /// <summary>The MQTT client ID from CONNECT; null before CONNECT was read.</summary>
    public string? ClientId { get; init; }

    public string? Action { get; init; }

    public string? Resource { get; init; }

    public string? Policy { get; init; }

    public string? Statement { get; init; }

    public string? Reason { get; init; }

    public string? ShadowDecision { get; init; }

    public string? ShadowPolicy { get; init; }

    public string? ShadowStatement { get; init; }

    /// <summary>The configuration snapshot that decided (0 when none was loaded).</summary>
    public long Generation { get; init; }

    /// <summary>Time spent deciding (identity and policy), not waiting for the network.</summary>
    public double LatencyMicroseconds { get; init; }

    /// <summary>The intake as the decision log's <c>listener</c> field and the metrics' label name it (lower-case letters only, as those labels must be).</summary>
    public string Listener => Intake switch
    {
        GateIntake.Tunnel => "mqtttunnel",
        GateIntake.WebSocket => "mqttwebsocket",
        GateIntake.Tls => "mqtttls",
        _ => "mqtttcp",
    };
}

/// <summary>The gate's intakes: how an MQTT connection reached it, and so how its principal is known.</summary>
public enum GateIntake
{
    /// <summary>Envoy's tcp_proxy tunnel over HTTP/2 (POST), the client certificate in a header.</summary>
    Tunnel,

    /// <summary>MQTT over WebSocket routed by Envoy, the principal named by a session handle.</summary>
    WebSocket,

    /// <summary>The gate's own mutual-TLS listener.</summary>
    Tls,

    /// <summary>The gate's own plain-TCP listener (development only).</summary>
    Tcp,
}

/// <summary>The gate's decision names: the Check service's, so one log and one set of metrics covers both.</summary>
public static class GateDecisions
{
    public const string Allowed = "ALLOWED";
    public const string ExplicitDeny = "EXPLICIT_DENY";
    public const string ImplicitDeny = "IMPLICIT_DENY";
    public const string Unauthenticated = "UNAUTHENTICATED";
    public const string InvalidRequest = "INVALID_REQUEST";
    public const string Unavailable = "UNAVAILABLE";
    public const string Error = "ERROR";
}
