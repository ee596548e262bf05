namespace ExtAuthz.Mqtt.Gate;

/// <summary>The answer to one question the gate asked (may this connection do that?), with what the client may be told.</summary>
internal readonly record struct Verdict(bool Allowed, bool Enforced, string Decision, string Reason, string DecisionId)
{
    /// <summary>Refused and enforced: the gate acts on the refusal (not under dry run).</summary>
    public bool Refused => !Allowed && Enforced;

    /// <summary>What an MQTT 5 client is told (the reason string of a PUBACK, PUBREC or DISCONNECT).</summary>
    public string ClientReason => $"{Reason} (decision {DecisionId})";
}

/// <summary>Why the gate ends a connection from outside its packet flow.</summary>
internal enum GateCloseReason
{
    /// <summary>A configuration change took the principal's identity or iot:Connect away.</summary>
    NotAuthorized,

    /// <summary>A newer connection with the same client ID took over.</summary>
    TakenOver,

    /// <summary>The gate (the process) is stopping.</summary>
    ShuttingDown,
}
