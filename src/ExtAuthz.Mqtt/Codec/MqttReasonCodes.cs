namespace ExtAuthz.Mqtt.Codec;

/// <summary>
/// Reason codes the gate sends or reads. MQTT 5 uses one table for all packets (each packet allows a subset,
/// see <see cref="IsValid"/>); MQTT 3.1.1 has only CONNACK return codes and the SUBACK failure code, named
/// <c>V311…</c> here.
/// </summary>
public static class MqttReasonCodes
{
    public const byte Success = 0x00;
    public const byte NormalDisconnection = 0x00;
    public const byte GrantedQos0 = 0x00;
    public const byte GrantedQos1 = 0x01;
    public const byte GrantedQos2 = 0x02;
    public const byte DisconnectWithWillMessage = 0x04;
    public const byte NoMatchingSubscribers = 0x10;
    public const byte NoSubscriptionExisted = 0x11;
    public const byte ContinueAuthentication = 0x18;
    public const byte ReAuthenticate = 0x19;
    public const byte UnspecifiedError = 0x80;
    public const byte MalformedPacket = 0x81;
    public const byte ProtocolError = 0x82;
    public const byte ImplementationSpecificError = 0x83;
    public const byte UnsupportedProtocolVersion = 0x84;
    public const byte ClientIdentifierNotValid = 0x85;
    public const byte BadUserNameOrPassword = 0x86;
    public const byte NotAuthorized = 0x87;
    public const byte ServerUnavailable = 0x88;
    public const byte ServerBusy = 0x89;
    public const byte Banned = 0x8A;
    public const byte ServerShuttingDown = 0x8B;
    public const byte BadAuthenticationMethod = 0x8C;
    public const byte KeepAliveTimeout = 0x8D;
    public const byte SessionTakenOver = 0x8E;
    public const byte TopicFilterInvalid = 0x8F;
    public const byte TopicNameInvalid = 0x90;
    public const byte PacketIdentifierInUse = 0x91;
    public const byte PacketIdentifierNotFound = 0x92;
    public const byte ReceiveMaximumExceeded = 0x93;
    public const byte TopicAliasInvalid = 0x94;
    public const byte PacketTooLarge = 0x95;
    public const byte MessageRateTooHigh = 0x96;
    public const byte QuotaExceeded = 0x97;
    public const byte AdministrativeAction = 0x98;
    public const byte PayloadFormatInvalid = 0x99;
    public const byte RetainNotSupported = 0x9A;
    public const byte QosNotSupported = 0x9B;
    public const byte UseAnotherServer = 0x9C;
    public const byte ServerMoved = 0x9D;
    public const byte SharedSubscriptionsNotSupported = 0x9E;
    public const byte ConnectionRateExceeded = 0x9F;
    public const byte MaximumConnectTime = 0xA0;
    public const byte SubscriptionIdentifiersNotSupported = 0xA1;
    public const byte WildcardSubscriptionsNotSupported = 0xA2;

    public const byte V311ConnectionAccepted = 0x00;
    public const byte V311UnacceptableProtocolVersion = 0x01;
    public const byte V311IdentifierRejected = 0x02;
    public const byte V311ServerUnavailable = 0x03;
    public const byte V311BadUserNameOrPassword = 0x04;
    public const byte V311NotAuthorized = 0x05;
    public const byte V311SubscribeFailure = 0x80;

    /// <summary>
    /// Whether <paramref name="code"/> is one the specification lets <paramref name="type"/> carry in
    /// <paramref name="version"/>; a sender must use one of these, so any other is a protocol error.
    /// </summary>
    public static bool IsValid(MqttPacketType type, MqttVersion version, byte code) => version == MqttVersion.V500
        ? type switch
        {
            MqttPacketType.ConnAck => ConnAckCodes.Contains(code),
            MqttPacketType.PubAck or MqttPacketType.PubRec => PubAckCodes.Contains(code),
            MqttPacketType.PubRel or MqttPacketType.PubComp => code is Success or PacketIdentifierNotFound,
            MqttPacketType.SubAck => SubAckCodes.Contains(code),
            MqttPacketType.UnsubAck => UnsubAckCodes.Contains(code),
            MqttPacketType.Disconnect => DisconnectCodes.Contains(code),
            MqttPacketType.Auth => code is Success or ContinueAuthentication or ReAuthenticate,
            _ => false,
        }
        : type switch
        {
            MqttPacketType.ConnAck => code <= V311NotAuthorized,
            MqttPacketType.SubAck => code is GrantedQos0 or GrantedQos1 or GrantedQos2 or V311SubscribeFailure,
            _ => false,
        };

    private static ReadOnlySpan<byte> ConnAckCodes =>
    [
        Success, UnspecifiedError, MalformedPacket, ProtocolError, ImplementationSpecificError, UnsupportedProtocolVersion, ClientIdentifierNotValid,
        BadUserNameOrPassword, NotAuthorized, ServerUnavailable, ServerBusy, Banned, BadAuthenticationMethod, TopicNameInvalid, PacketTooLarge,
        QuotaExceeded, PayloadFormatInvalid, RetainNotSupported, QosNotSupported, UseAnotherServer, ServerMoved, ConnectionRateExceeded,
    ];

    private static ReadOnlySpan<byte> PubAckCodes =>
    [
        Success, NoMatchingSubscribers, UnspecifiedError, ImplementationSpecificError, NotAuthorized, TopicNameInvalid, PacketIdentifierInUse,
        QuotaExceeded, PayloadFormatInvalid,
    ];

    private static ReadOnlySpan<byte> SubAckCodes =>
    [
        GrantedQos0, GrantedQos1, GrantedQos2, UnspecifiedError, ImplementationSpecificError, NotAuthorized, TopicFilterInvalid, PacketIdentifierInUse,
        QuotaExceeded, SharedSubscriptionsNotSupported, SubscriptionIdentifiersNotSupported, WildcardSubscriptionsNotSupported,
    ];

    private static ReadOnlySpan<byte> UnsubAckCodes =>
        [Success, NoSubscriptionExisted, UnspecifiedError, ImplementationSpecificError, NotAuthorized, TopicFilterInvalid, PacketIdentifierInUse];

    private static ReadOnlySpan<byte> DisconnectCodes =>
    [
        NormalDisconnection, DisconnectWithWillMessage, UnspecifiedError, MalformedPacket, ProtocolError, ImplementationSpecificError, NotAuthorized,
        ServerBusy, ServerShuttingDown, KeepAliveTimeout, SessionTakenOver, TopicFilterInvalid, TopicNameInvalid, ReceiveMaximumExceeded,
        TopicAliasInvalid, PacketTooLarge, MessageRateTooHigh, QuotaExceeded, AdministrativeAction, PayloadFormatInvalid, RetainNotSupported,
        QosNotSupported, UseAnotherServer, ServerMoved, SharedSubscriptionsNotSupported, ConnectionRateExceeded, MaximumConnectTime,
        SubscriptionIdentifiersNotSupported, WildcardSubscriptionsNotSupported,
    ];
}
