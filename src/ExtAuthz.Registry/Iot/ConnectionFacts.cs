namespace ExtAuthz.Registry;

/// <summary>
/// What the transport knows about a connection or request: the MQTT client ID (none over HTTP), the
/// client's address, the domain it connected to, and the MQTT CONNECT flags that become
/// <c>iot:ConnectAttributes</c> and <c>iot:LastWillTopic</c>.
/// </summary>
public sealed record ConnectionFacts
{
    public static ConnectionFacts None { get; } = new();

    /// <summary>The MQTT client ID; null over HTTP, where thing variables do not exist.</summary>
    public string? ClientId { get; init; }

    /// <summary>The client's IP address (<c>aws:SourceIp</c>).</summary>
    public string? SourceIp { get; init; }

    /// <summary>The domain name the client connected to (<c>iot:DomainName</c>).</summary>
    public string? DomainName { get; init; }

    /// <summary>CONNECT with clean session / clean start off: <c>PersistentConnect</c>.</summary>
    public bool PersistentSession { get; init; }

    /// <summary>The CONNECT's Will topic, when it has one: <c>LastWill</c> and <c>iot:LastWillTopic</c>.</summary>
    public string? LastWillTopic { get; init; }
}
