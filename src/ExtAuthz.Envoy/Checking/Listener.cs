namespace ExtAuthz.Envoy.Checking;

/// <summary>The three listeners Envoy terminates TLS on, as the decision log and metrics name them.</summary>
public enum Listener
{
    /// <summary>8883: MQTT over X.509 mutual TLS; Envoy's network ext_authz filter asks once per connection.</summary>
    Mqtt,

    /// <summary>443: HTTPS and MQTT over WebSocket (X.509 by ALPN, Cognito, SigV4).</summary>
    Https,

    /// <summary>8443: HTTPS with X.509 mutual TLS.</summary>
    Mtls,
}

public static class ListenerNames
{
    public static string Name(this Listener listener) => listener switch
    {
        Listener.Mqtt => "mqtt",
        Listener.Https => "https",
        _ => "mtls",
    };

    /// <summary>The listener a port names (the <c>port</c> context extension, or the destination port).</summary>
    public static Listener? FromPort(uint port) => port switch
    {
        8883 => Listener.Mqtt,
        443 => Listener.Https,
        8443 => Listener.Mtls,
        _ => null,
    };
}
