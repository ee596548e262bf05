namespace ExtAuthz.Mqtt.Codec;

/// <summary>
/// Which side sent the bytes being read. MQTT lets some packets travel one way only (CONNECT, SUBSCRIBE,
/// UNSUBSCRIBE, PINGREQ from clients; CONNACK, SUBACK, UNSUBACK, PINGRESP from servers; DISCONNECT from
/// clients only in 3.1.1), and a few rules differ by sender (a client's PUBLISH carries no subscription
/// identifier; a server's DISCONNECT carries no session expiry interval).
/// </summary>
public enum MqttDirection
{
    /// <summary>From the device (or Envoy in front of it) towards the broker.</summary>
    ClientToServer,

    /// <summary>From the broker back towards the device.</summary>
    ServerToClient,
}
