namespace ExtAuthz.Mqtt.Codec;

/// <summary>MQTT control packet types: the high nibble of a packet's first byte (0 is reserved; 15 is MQTT 5 only).</summary>
public enum MqttPacketType : byte
{
    Connect = 1,
    ConnAck,
    Publish,
    PubAck,
    PubRec,
    PubRel,
    PubComp,
    Subscribe,
    SubAck,
    Unsubscribe,
    UnsubAck,
    PingReq,
    PingResp,
    Disconnect,
    Auth,
}
