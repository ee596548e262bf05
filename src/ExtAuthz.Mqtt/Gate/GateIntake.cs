namespace ExtAuthz.Mqtt.Gate;

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

/// <summary>The intakes as decision records' <c>listener</c> names them.</summary>
public static class GateIntakes
{
    /// <summary>The intake as the decision log's <c>listener</c> field and the metrics' label name it (lower-case letters only, as those labels must be).</summary>
    public static string ListenerName(this GateIntake intake) => intake switch
    {
        GateIntake.Tunnel => "mqtttunnel",
        GateIntake.WebSocket => "mqttwebsocket",
        GateIntake.Tls => "mqtttls",
        _ => "mqtttcp",
    };
}
