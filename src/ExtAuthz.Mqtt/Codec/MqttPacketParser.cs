using System.Text;

namespace ExtAuthz.Mqtt.Codec;

/// <summary>
/// Parses the variable header and payload of one whole packet whose fixed header <see cref="MqttPacketReader"/>
/// has already checked. Every method returns null after recording exactly one error on the reader.
/// </summary>
internal static class MqttPacketParser
{
    private const string SharePrefix = "$share/";

    public static MqttPacket? Parse(byte[] raw, int bodyStart, MqttVersion? version, MqttDirection direction, bool minimalLength, out string? error)
    {
        var type = (MqttPacketType)(raw[0] >> 4);
        var reader = new MqttFieldReader(raw, bodyStart, MqttNames.Of(type));

        // Only a CONNECT arrives before the version is known (the fixed-header check guarantees it).
        var packet = type == MqttPacketType.Connect
            ? ReadConnect(raw, ref reader, direction, minimalLength)
            : ReadOther(raw, ref reader, type, version.GetValueOrDefault(), direction);
        error = reader.Error;
        return packet;
    }

    private static MqttPacket? ReadOther(byte[] raw, ref MqttFieldReader reader, MqttPacketType type, MqttVersion version, MqttDirection direction) => type switch
    {
        MqttPacketType.ConnAck => ReadConnAck(raw, ref reader, version, direction),
        MqttPacketType.Publish => ReadPublish(raw, ref reader, version, direction),
        MqttPacketType.PubAck or MqttPacketType.PubRec or MqttPacketType.PubRel or MqttPacketType.PubComp => ReadAck(raw, ref reader, type, version, direction),
        MqttPacketType.Subscribe => ReadSubscribe(raw, ref reader, version, direction),
        MqttPacketType.SubAck => ReadSubAck(raw, ref reader, version, direction),
        MqttPacketType.Unsubscribe => ReadUnsubscribe(raw, ref reader, version, direction),
        MqttPacketType.UnsubAck => ReadUnsubAck(raw, ref reader, version, direction),
        MqttPacketType.PingReq or MqttPacketType.PingResp => EndOfPacket(ref reader, "fixed header") ? new MqttPacket(version, raw, null, 0, null, null) : null,
        MqttPacketType.Disconnect => ReadDisconnect(raw, ref reader, version, direction),
        _ => ReadAuth(raw, ref reader, version, direction),
    };

    private static MqttPacket? ReadConnect(byte[] raw, ref MqttFieldReader reader, MqttDirection direction, bool minimalLength)
    {
        if (!reader.Binary("protocol name", out var nameStart, out var nameLength))
        {
            return null;
        }

        var name = reader.Slice(nameStart, nameLength);
        if (name.SequenceEqual("MQIsdp"u8))
        {
            return Refuse(ref reader, "is MQTT 3.1 (protocol name 'MQIsdp'); the gate accepts MQTT 3.1.1 (protocol level 4) and 5 (level 5)");
        }

        if (!name.SequenceEqual("MQTT"u8))
        {
            return Refuse(ref reader, $"protocol name at byte {nameStart} is {Describe(name)}; MQTT 3.1.1 and 5 use 'MQTT'");
        }

        var levelAt = reader.Position;
        if (!reader.Byte("protocol level", out var level))
        {
            return null;
        }

        if (level is not ((byte)MqttVersion.V311 or (byte)MqttVersion.V500))
        {
            return Refuse(ref reader,
                $"protocol level at byte {levelAt} is {level}{(level == 3 ? " (MQTT 3.1)" : "")}; the gate accepts MQTT 3.1.1 (level 4) and 5 (level 5)");
        }

        var version = (MqttVersion)level;
        if (version == MqttVersion.V500 && !minimalLength)
        {
            return Refuse(ref reader, "remaining length is not in the fewest bytes possible, which MQTT 5 requires");
        }

        var flagsAt = reader.Position;
        if (!reader.Byte("connect flags", out var flags))
        {
            return null;
        }

        var will = (flags & 0x04) != 0;
        var willQos = (byte)((flags >> 3) & 0b11);
        var willRetain = (flags & 0x20) != 0;
        var hasPassword = (flags & 0x40) != 0;
        var hasUserName = (flags & 0x80) != 0;
        if ((flags & 0x01) != 0)
        {
            return Refuse(ref reader, $"flags 0x{flags:X2} (byte {flagsAt}) set the reserved bit 0");
        }

        if (!will && (willQos != 0 || willRetain))
        {
            return Refuse(ref reader, $"flags 0x{flags:X2} (byte {flagsAt}) set a will QoS or will retain without the will flag");
        }

        if (willQos == 3)
        {
            return Refuse(ref reader, $"flags 0x{flags:X2} (byte {flagsAt}) ask for will QoS 3");
        }

        if (version == MqttVersion.V311 && hasPassword && !hasUserName)
        {
            return Refuse(ref reader, $"flags 0x{flags:X2} (byte {flagsAt}) set the password flag without the user name flag, which MQTT 3.1.1 forbids");
        }

        var properties = default(PropertyValues);
        if (!reader.UInt16("keep alive", out var keepAlive)
            || (version == MqttVersion.V500 && !MqttProperties.Read(ref reader, PropertyScope.Connect, "properties", direction, ref properties))
            || !reader.String("client identifier", out var clientId))
        {
            return null;
        }

        string? willTopic = null;
        if (will)
        {
            var willProperties = default(PropertyValues);
            if ((version == MqttVersion.V500 && !MqttProperties.Read(ref reader, PropertyScope.Will, "will properties", direction, ref willProperties))
                || !ReadTopicName(ref reader, "will topic", allowEmpty: false, out var topic, out _)
                || !reader.Binary("will payload", out _, out _))
            {
                return null;
            }

            willTopic = topic;
        }

        string? userName = null;
        if (hasUserName)
        {
            if (!reader.String("user name", out var text))
            {
                return null;
            }

            userName = text;
        }

        var password = ReadOnlyMemory<byte>.Empty;
        if (hasPassword)
        {
            if (!reader.Binary("password", out var start, out var length))
            {
                return null;
            }

            password = raw.AsMemory(start, length);
        }

        if (!EndOfPacket(ref reader, "payload"))
        {
            return null;
        }

        var view = new ConnectPacket(version, clientId, (flags & 0x02) != 0, keepAlive, willTopic, willQos, willRetain, userName, hasPassword, password,
            properties.SessionExpiryInterval)
        {
            ReceiveMaximum = properties.ReceiveMaximum,
            MaximumPacketSize = properties.MaximumPacketSize,
            TopicAliasMaximum = properties.TopicAliasMaximum,
            AuthenticationMethod = properties.AuthenticationMethod,
        };
        return new MqttPacket(version, raw, view, 0, null, null);
    }

    private static MqttPacket? ReadConnAck(byte[] raw, ref MqttFieldReader reader, MqttVersion version, MqttDirection direction)
    {
        var flagsAt = reader.Position;
        if (!reader.Byte("acknowledge flags", out var flags))
        {
            return null;
        }

        if ((flags & 0xFE) != 0)
        {
            return Refuse(ref reader, $"acknowledge flags 0x{flags:X2} (byte {flagsAt}) set reserved bits; only bit 0, session present, may be set");
        }

        var codeName = version == MqttVersion.V500 ? "reason code" : "return code";
        if (!ReadCode(ref reader, MqttPacketType.ConnAck, version, codeName, out var code))
        {
            return null;
        }

        var sessionPresent = flags == 1;
        if (sessionPresent && code != 0)
        {
            return Refuse(ref reader, $"sets session present with the refusing {codeName} 0x{code:X2}, which MQTT forbids");
        }

        var properties = default(PropertyValues);
        if ((version == MqttVersion.V500 && !MqttProperties.Read(ref reader, PropertyScope.ConnAck, "properties", direction, ref properties))
            || !EndOfPacket(ref reader, version == MqttVersion.V500 ? "properties" : codeName))
        {
            return null;
        }

        var view = new ConnAckPacket(sessionPresent, code)
        {
            MaximumPacketSize = properties.MaximumPacketSize,
            TopicAliasMaximum = properties.TopicAliasMaximum,
            ReceiveMaximum = properties.ReceiveMaximum,
            ServerKeepAliveSeconds = properties.ServerKeepAlive,
            AssignedClientIdentifier = properties.AssignedClientIdentifier,
        };
        return new MqttPacket(version, raw, view, 0, version == MqttVersion.V500 ? code : null, properties.ReasonString);
    }

    private static MqttPacket? ReadPublish(byte[] raw, ref MqttFieldReader reader, MqttVersion version, MqttDirection direction)
    {
        var qos = (byte)((raw[0] >> 1) & 0b11);

        // MQTT 5 lets the topic be empty when a topic alias stands for it; that is known only after the properties.
        if (!ReadTopicName(ref reader, "topic", allowEmpty: version == MqttVersion.V500, out var topic, out var topicAt))
        {
            return null;
        }

        ushort packetId = 0;
        var properties = default(PropertyValues);
        if ((qos > 0 && !reader.PacketId(out packetId))
            || (version == MqttVersion.V500 && !MqttProperties.Read(ref reader, PropertyScope.Publish, "properties", direction, ref properties)))
        {
            return null;
        }

        if (topic.Length == 0 && properties.TopicAlias is null)
        {
            return Refuse(ref reader, $"topic at byte {topicAt} is empty and there is no topic alias to stand for it");
        }

        var view = new PublishPacket(topic, qos, (raw[0] & 0x01) != 0, (raw[0] & 0x08) != 0, packetId, properties.TopicAlias, reader.Left);
        return new MqttPacket(version, raw, view, packetId, null, null);
    }

    private static MqttPacket? ReadAck(byte[] raw, ref MqttFieldReader reader, MqttPacketType type, MqttVersion version, MqttDirection direction)
    {
        if (!reader.PacketId(out var packetId))
        {
            return null;
        }

        if (version == MqttVersion.V311)
        {
            return EndOfPacket(ref reader, "packet identifier") ? new MqttPacket(version, raw, null, packetId, null, null) : null;
        }

        // MQTT 5 may leave out the reason code (meaning success) and, after it, the property length.
        byte code = 0;
        var properties = default(PropertyValues);
        if (!reader.AtEnd
            && (!ReadCode(ref reader, type, version, "reason code", out code)
                || (!reader.AtEnd && !MqttProperties.Read(ref reader, PropertyScope.PubAck, "properties", direction, ref properties))
                || !EndOfPacket(ref reader, "properties")))
        {
            return null;
        }

        return new MqttPacket(version, raw, null, packetId, code, properties.ReasonString);
    }

    private static MqttPacket? ReadSubscribe(byte[] raw, ref MqttFieldReader reader, MqttVersion version, MqttDirection direction)
    {
        if (!reader.PacketId(out var packetId))
        {
            return null;
        }

        var properties = default(PropertyValues);
        var block = ReadOnlyMemory<byte>.Empty;
        if (version == MqttVersion.V500)
        {
            var start = reader.Position;
            if (!MqttProperties.Read(ref reader, PropertyScope.Subscribe, "properties", direction, ref properties))
            {
                return null;
            }

            block = raw.AsMemory(start, reader.Position - start);
        }

        if (reader.AtEnd)
        {
            return Refuse(ref reader, "has no topic filter; MQTT requires at least one");
        }

        var subscriptions = new List<TopicSubscription>();
        while (!reader.AtEnd)
        {
            if (!ReadTopicFilter(ref reader, out var filter))
            {
                return null;
            }

            var optionsAt = reader.Position;
            if (!reader.Byte("subscription options", out var options))
            {
                return null;
            }

            if (SubscriptionOptionsError(version, filter, options) is { } problem)
            {
                return Refuse(ref reader, $"subscription options 0x{options:X2} at byte {optionsAt} {problem}");
            }

            subscriptions.Add(new TopicSubscription(filter, options));
        }

        var view = new SubscribePacket(packetId, subscriptions.ToArray(), block) { SubscriptionIdentifier = properties.SubscriptionIdentifier };
        return new MqttPacket(version, raw, view, packetId, null, null);
    }

    private static MqttPacket? ReadSubAck(byte[] raw, ref MqttFieldReader reader, MqttVersion version, MqttDirection direction)
    {
        var properties = default(PropertyValues);
        if (!reader.PacketId(out var packetId)
            || (version == MqttVersion.V500 && !MqttProperties.Read(ref reader, PropertyScope.SubAck, "properties", direction, ref properties))
            || !ReadCodes(ref reader, MqttPacketType.SubAck, version, out var codes))
        {
            return null;
        }

        return new MqttPacket(version, raw, new SubAckPacket(packetId, codes), packetId, null, properties.ReasonString);
    }

    private static MqttPacket? ReadUnsubscribe(byte[] raw, ref MqttFieldReader reader, MqttVersion version, MqttDirection direction)
    {
        var properties = default(PropertyValues);
        if (!reader.PacketId(out var packetId)
            || (version == MqttVersion.V500 && !MqttProperties.Read(ref reader, PropertyScope.Unsubscribe, "properties", direction, ref properties)))
        {
            return null;
        }

        if (reader.AtEnd)
        {
            return Refuse(ref reader, "has no topic filter; MQTT requires at least one");
        }

        var filters = new List<string>();
        while (!reader.AtEnd)
        {
            if (!ReadTopicFilter(ref reader, out var filter))
            {
                return null;
            }

            filters.Add(filter);
        }

        return new MqttPacket(version, raw, new UnsubscribePacket(packetId, filters.ToArray()), packetId, null, null);
    }

    private static MqttPacket? ReadUnsubAck(byte[] raw, ref MqttFieldReader reader, MqttVersion version, MqttDirection direction)
    {
        if (!reader.PacketId(out var packetId))
        {
            return null;
        }

        if (version == MqttVersion.V311)
        {
            return EndOfPacket(ref reader, "packet identifier") ? new MqttPacket(version, raw, null, packetId, null, null) : null;
        }

        var properties = default(PropertyValues);
        return MqttProperties.Read(ref reader, PropertyScope.UnsubAck, "properties", direction, ref properties)
            && ReadCodes(ref reader, MqttPacketType.UnsubAck, version, out _)
            ? new MqttPacket(version, raw, null, packetId, null, properties.ReasonString)
            : null;
    }

    private static MqttPacket? ReadDisconnect(byte[] raw, ref MqttFieldReader reader, MqttVersion version, MqttDirection direction)
    {
        if (version == MqttVersion.V311)
        {
            return EndOfPacket(ref reader, "fixed header") ? new MqttPacket(version, raw, null, 0, null, null) : null;
        }

        // As with the acknowledgements, the reason code (normal disconnection) and then the property length may be left out.
        byte code = 0;
        var properties = default(PropertyValues);
        if (!reader.AtEnd
            && (!ReadCode(ref reader, MqttPacketType.Disconnect, version, "reason code", out code)
                || (!reader.AtEnd && !MqttProperties.Read(ref reader, PropertyScope.Disconnect, "properties", direction, ref properties))
                || !EndOfPacket(ref reader, "properties")))
        {
            return null;
        }

        return new MqttPacket(version, raw, null, 0, code, properties.ReasonString);
    }

    private static MqttPacket? ReadAuth(byte[] raw, ref MqttFieldReader reader, MqttVersion version, MqttDirection direction)
    {
        // Unlike DISCONNECT, AUTH may drop its reason code only together with the properties: it is empty or has both.
        if (reader.AtEnd)
        {
            return new MqttPacket(version, raw, null, 0, MqttReasonCodes.Success, null);
        }

        var properties = default(PropertyValues);
        if (!ReadCode(ref reader, MqttPacketType.Auth, version, "reason code", out var code))
        {
            return null;
        }

        if (reader.AtEnd)
        {
            return Refuse(ref reader, "has a reason code but no properties; MQTT 5 requires both or neither");
        }

        if (!MqttProperties.Read(ref reader, PropertyScope.Auth, "properties", direction, ref properties) || !EndOfPacket(ref reader, "properties"))
        {
            return null;
        }

        return properties.AuthenticationMethod is null
            ? Refuse(ref reader, "properties have no authentication method, which MQTT 5 requires in AUTH")
            : new MqttPacket(version, raw, null, 0, code, properties.ReasonString);
    }

    private static bool ReadCode(ref MqttFieldReader reader, MqttPacketType type, MqttVersion version, string what, out byte code)
    {
        var at = reader.Position;
        return reader.Byte(what, out code)
            && (MqttReasonCodes.IsValid(type, version, code)
                || reader.Fail($"{what} 0x{code:X2} at byte {at} is not one {MqttNames.Of(version)} defines for {MqttNames.Of(type)}"));
    }

    /// <summary>The rest of the packet as one reason code per filter of the request it answers: at least one.</summary>
    private static bool ReadCodes(ref MqttFieldReader reader, MqttPacketType type, MqttVersion version, out byte[] codes)
    {
        codes = new byte[reader.Left];
        if (codes.Length == 0)
        {
            return reader.Fail("has no reason code; it needs one for each topic filter of the request it answers");
        }

        for (var i = 0; i < codes.Length; i++)
        {
            if (!ReadCode(ref reader, type, version, "reason code", out codes[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static bool ReadTopicName(ref MqttFieldReader reader, string what, bool allowEmpty, out string topic, out int lengthAt)
    {
        topic = "";
        lengthAt = reader.Position;
        if (!reader.Utf8(what, out var start, out var length))
        {
            return false;
        }

        var bytes = reader.Slice(start, length);
        if (length == 0 && !allowEmpty)
        {
            return reader.Fail($"{what} at byte {lengthAt} is empty; a topic name has at least one character");
        }

        if (MqttText.TopicNameError(bytes, start, what) is { } error)
        {
            return reader.Fail(error);
        }

        topic = MqttText.Decode(bytes);
        return true;
    }

    private static bool ReadTopicFilter(ref MqttFieldReader reader, out string filter)
    {
        filter = "";
        var lengthAt = reader.Position;
        if (!reader.Utf8("topic filter", out var start, out var length))
        {
            return false;
        }

        if (length == 0)
        {
            return reader.Fail($"topic filter at byte {lengthAt} is empty; a topic filter has at least one character");
        }

        var bytes = reader.Slice(start, length);
        if (MqttText.TopicFilterError(bytes, start, "topic filter") is { } error)
        {
            return reader.Fail(error);
        }

        filter = MqttText.Decode(bytes);
        return true;
    }

    /// <summary>Null when the options byte is valid for <paramref name="version"/>; else what is wrong with it.</summary>
    private static string? SubscriptionOptionsError(MqttVersion version, string filter, byte options)
    {
        if (version == MqttVersion.V311)
        {
            return (options & 0xFC) != 0 ? "set reserved bits; MQTT 3.1.1 allows only the QoS bits" : (options & 0b11) == 3 ? "request QoS 3" : null;
        }

        var subscription = new TopicSubscription(filter, options);
        return (options & 0xC0) != 0 ? "set the reserved bits 6 and 7"
            : subscription.Qos == 3 ? "request QoS 3"
            : subscription.RetainHandling == 3 ? "ask for retain handling 3, which MQTT 5 does not define"
            : subscription.NoLocal && filter.StartsWith(SharePrefix, StringComparison.Ordinal) ? "set No Local on a shared subscription, which MQTT 5 forbids"
            : null;
    }

    private static bool EndOfPacket(ref MqttFieldReader reader, string after) =>
        reader.AtEnd || reader.Fail($"has {Bytes(reader.Left)} more after its {after} (byte {reader.Position}), where it should end");

    private static string Bytes(int count) => count == 1 ? "1 byte" : $"{count} bytes";

    private static MqttPacket? Refuse(ref MqttFieldReader reader, string message)
    {
        _ = reader.Fail(message);
        return null;
    }

    /// <summary>A protocol name for an error: quoted when it is short printable ASCII, else only its length.</summary>
    private static string Describe(ReadOnlySpan<byte> name) =>
        name.Length <= 16 && !name.ContainsAnyExceptInRange((byte)0x20, (byte)0x7E) ? $"'{Encoding.ASCII.GetString(name)}'" : $"{name.Length} bytes long";
}
