namespace ExtAuthz.Mqtt.Codec;

/// <summary>The MQTT protocol levels the gate speaks (CONNECT's protocol level byte).</summary>
public enum MqttVersion : byte
{
    /// <summary>MQTT 3.1.1 (protocol level 4).</summary>
    V311 = 4,

    /// <summary>MQTT 5.0 (protocol level 5).</summary>
    V500 = 5,
}
