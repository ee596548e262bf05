namespace ExtAuthz.Mqtt.Codec;

/// <summary>The places an MQTT 5 property block appears; each property is allowed in some of them.</summary>
[Flags]
internal enum PropertyScope
{
    None = 0,
    Connect = 1 << 0,
    ConnAck = 1 << 1,
    Publish = 1 << 2,
    Will = 1 << 3,
    PubAck = 1 << 4, // PUBACK, PUBREC, PUBREL and PUBCOMP share one set.
    Subscribe = 1 << 5,
    SubAck = 1 << 6,
    Unsubscribe = 1 << 7,
    UnsubAck = 1 << 8,
    Disconnect = 1 << 9,
    Auth = 1 << 10,
    All = (1 << 11) - 1,
}

/// <summary>The property values the codec hands on; the others are validated and skipped.</summary>
internal struct PropertyValues
{
    public uint? SessionExpiryInterval;
    public ushort? ReceiveMaximum;
    public uint? MaximumPacketSize;
    public ushort? TopicAliasMaximum;
    public ushort? TopicAlias;
    public ushort? ServerKeepAlive;
    public uint? SubscriptionIdentifier;
    public string? ReasonString;
    public string? AssignedClientIdentifier;
    public string? AuthenticationMethod;
}

/// <summary>
/// Reads MQTT 5 property blocks: a variable byte integer length, then identifier/value pairs. Every
/// identifier must be one MQTT 5 defines for the block's packet (anything else makes the packet malformed),
/// appear at most once unless MQTT allows repeats (User Property; Subscription Identifier in a PUBLISH),
/// and hold a value of its type within the range MQTT sets.
/// </summary>
internal static class MqttProperties
{
    private enum Kind : byte
    {
        Byte,
        Boolean, // a byte that must be 0 or 1
        TwoByte,
        FourByte,
        VariableByte,
        Utf8,
        Binary,
        Utf8Pair,
    }

    /// <summary>A property's type and where it may appear; <paramref name="Label"/> ("session expiry interval (0x11)") is built once, for errors.</summary>
    private sealed record Definition(string Label, Kind Kind, PropertyScope Scopes);

    private const byte ResponseTopic = 0x08;
    private const byte SubscriptionIdentifier = 0x0B;
    private const byte SessionExpiryInterval = 0x11;
    private const byte AssignedClientIdentifier = 0x12;
    private const byte ServerKeepAlive = 0x13;
    private const byte AuthenticationMethod = 0x15;
    private const byte AuthenticationData = 0x16;
    private const byte ReasonString = 0x1F;
    private const byte ReceiveMaximum = 0x21;
    private const byte TopicAliasMaximum = 0x22;
    private const byte TopicAlias = 0x23;
    private const byte UserProperty = 0x26;
    private const byte MaximumPacketSize = 0x27;

    private static readonly Definition?[] Definitions = BuildDefinitions();
    private static readonly string UserPropertyName = $"{Definitions[UserProperty]!.Label} name";
    private static readonly string UserPropertyValue = $"{Definitions[UserProperty]!.Label} value";

    /// <summary>
    /// Reads the block at the reader's position. <paramref name="region"/> names it in errors ("properties",
    /// "will properties"); <paramref name="direction"/> matters for the two properties MQTT restricts by sender.
    /// </summary>
    public static bool Read(ref MqttFieldReader reader, PropertyScope scope, string region, MqttDirection direction, ref PropertyValues values)
    {
        var lengthAt = reader.Position;
        var label = scope == PropertyScope.Will ? "will property length" : "property length";
        if (!reader.VariableByteInteger(label, out var length))
        {
            return false;
        }

        if (length > reader.Left)
        {
            return reader.Fail($"{label} {length} (byte {lengthAt}) runs past the end of the packet (byte {reader.End})");
        }

        var outerEnd = reader.End;
        reader.End = reader.Position + length;
        reader.Region = region;
        ulong seen = 0;
        var ok = true;
        while (ok && !reader.AtEnd)
        {
            ok = ReadOne(ref reader, scope, region, direction, ref seen, ref values);
        }

        reader.End = outerEnd;
        reader.Region = "packet";
        if (ok && (seen & (1UL << AuthenticationData)) != 0 && (seen & (1UL << AuthenticationMethod)) == 0)
        {
            return reader.Fail($"{region} have authentication data without an authentication method");
        }

        return ok;
    }

    private static bool ReadOne(ref MqttFieldReader reader, PropertyScope scope, string region, MqttDirection direction, ref ulong seen, ref PropertyValues values)
    {
        var at = reader.Position;

        // Cannot fail: the caller reads only while bytes are left in the block.
        _ = reader.Byte("property identifier", out var id);

        // Identifiers are variable byte integers, but every defined one is below 0x80, so a single byte
        // settles it: a byte with the continuation bit set can only begin an undefined identifier.
        if (id >= Definitions.Length || Definitions[id] is not { } definition)
        {
            return reader.Fail($"{region} have an unknown property identifier 0x{id:X2} at byte {at}");
        }

        if ((definition.Scopes & scope) == 0)
        {
            return reader.Fail($"{region} have {definition.Label} at byte {at}, which MQTT 5 does not allow there");
        }

        var repeatable = id == UserProperty || (id == SubscriptionIdentifier && scope == PropertyScope.Publish);
        if (!repeatable && (seen & (1UL << id)) != 0)
        {
            return reader.Fail($"{region} repeat {definition.Label} at byte {at}");
        }

        seen |= 1UL << id;
        var what = definition.Label;
        return definition.Kind switch
        {
            Kind.Byte => reader.Byte(what, out _),
            Kind.Boolean => ReadBoolean(ref reader, what),
            Kind.TwoByte => ReadTwoByte(ref reader, id, what, ref values),
            Kind.FourByte => ReadFourByte(ref reader, id, what, scope, direction, ref values),
            Kind.VariableByte => ReadSubscriptionIdentifier(ref reader, what, scope, direction, ref values),
            Kind.Utf8 => ReadUtf8(ref reader, id, what, ref values),
            Kind.Binary => reader.Binary(what, out _, out _),
            _ => reader.Utf8(UserPropertyName, out _, out _) && reader.Utf8(UserPropertyValue, out _, out _),
        };
    }

    private static bool ReadBoolean(ref MqttFieldReader reader, string what)
    {
        var at = reader.Position;
        return reader.Byte(what, out var value) && (value <= 1 || reader.Fail($"{what} at byte {at} is {value}; MQTT 5 allows only 0 or 1"));
    }

    private static bool ReadTwoByte(ref MqttFieldReader reader, byte id, string what, ref PropertyValues values)
    {
        var at = reader.Position;
        if (!reader.UInt16(what, out var value))
        {
            return false;
        }

        switch (id)
        {
            case ServerKeepAlive:
                values.ServerKeepAlive = value;
                return true;
            case TopicAliasMaximum:
                values.TopicAliasMaximum = value;
                return true;
            case ReceiveMaximum:
                values.ReceiveMaximum = value;
                break;
            case TopicAlias:
                values.TopicAlias = value;
                break;
        }

        // Receive Maximum and Topic Alias: MQTT 5 makes 0 a protocol error for both.
        return value != 0 || reader.Fail($"{what} at byte {at} is 0, which MQTT 5 forbids");
    }

    private static bool ReadFourByte(ref MqttFieldReader reader, byte id, string what, PropertyScope scope, MqttDirection direction, ref PropertyValues values)
    {
        var at = reader.Position;
        if (!reader.UInt32(what, out var value))
        {
            return false;
        }

        switch (id)
        {
            case SessionExpiryInterval:
                values.SessionExpiryInterval = value;
                return scope != PropertyScope.Disconnect || direction == MqttDirection.ClientToServer
                    || reader.Fail($"{what} at byte {at} is sent only by clients; a server's DISCONNECT must not carry it");
            case MaximumPacketSize:
                values.MaximumPacketSize = value;
                return value != 0 || reader.Fail($"{what} at byte {at} is 0, which MQTT 5 forbids");
            default:
                return true;
        }
    }

    private static bool ReadSubscriptionIdentifier(ref MqttFieldReader reader, string what, PropertyScope scope, MqttDirection direction, ref PropertyValues values)
    {
        var at = reader.Position;
        if (!reader.VariableByteInteger(what, out var value))
        {
            return false;
        }

        if (value == 0)
        {
            return reader.Fail($"{what} at byte {at} is 0, which MQTT 5 forbids");
        }

        if (scope == PropertyScope.Publish && direction == MqttDirection.ClientToServer)
        {
            return reader.Fail($"{what} at byte {at} is sent only by servers; a client's PUBLISH must not carry it");
        }

        values.SubscriptionIdentifier = (uint)value;
        return true;
    }

    private static bool ReadUtf8(ref MqttFieldReader reader, byte id, string what, ref PropertyValues values)
    {
        switch (id)
        {
            case ResponseTopic:
                // Response Topic is a topic name: the receiver publishes to it, so no wildcards and not empty.
                if (!reader.Utf8(what, out var start, out var length))
                {
                    return false;
                }

                return length == 0
                    ? reader.Fail($"{what} at byte {start - 2} is empty; a topic name has at least one character")
                    : MqttText.TopicNameError(reader.Slice(start, length), start, what) is not { } error || reader.Fail(error);
            case AssignedClientIdentifier:
                return Keep(ref reader, what, out values.AssignedClientIdentifier);
            case AuthenticationMethod:
                return Keep(ref reader, what, out values.AuthenticationMethod);
            case ReasonString:
                return Keep(ref reader, what, out values.ReasonString);
            default:
                return reader.Utf8(what, out _, out _);
        }
    }

    private static bool Keep(ref MqttFieldReader reader, string what, out string? value)
    {
        var ok = reader.String(what, out var text);
        value = text;
        return ok;
    }

    private static Definition?[] BuildDefinitions()
    {
        const PropertyScope message = PropertyScope.Publish | PropertyScope.Will;
        var table = new Definition?[0x2B];
        Define(table, 0x01, "payload format indicator", Kind.Byte, message);
        Define(table, 0x02, "message expiry interval", Kind.FourByte, message);
        Define(table, 0x03, "content type", Kind.Utf8, message);
        Define(table, ResponseTopic, "response topic", Kind.Utf8, message);
        Define(table, 0x09, "correlation data", Kind.Binary, message);
        Define(table, SubscriptionIdentifier, "subscription identifier", Kind.VariableByte, PropertyScope.Publish | PropertyScope.Subscribe);
        Define(table, SessionExpiryInterval, "session expiry interval", Kind.FourByte, PropertyScope.Connect | PropertyScope.ConnAck | PropertyScope.Disconnect);
        Define(table, AssignedClientIdentifier, "assigned client identifier", Kind.Utf8, PropertyScope.ConnAck);
        Define(table, ServerKeepAlive, "server keep alive", Kind.TwoByte, PropertyScope.ConnAck);
        Define(table, AuthenticationMethod, "authentication method", Kind.Utf8, PropertyScope.Connect | PropertyScope.ConnAck | PropertyScope.Auth);
        Define(table, AuthenticationData, "authentication data", Kind.Binary, PropertyScope.Connect | PropertyScope.ConnAck | PropertyScope.Auth);
        Define(table, 0x17, "request problem information", Kind.Boolean, PropertyScope.Connect);
        Define(table, 0x18, "will delay interval", Kind.FourByte, PropertyScope.Will);
        Define(table, 0x19, "request response information", Kind.Boolean, PropertyScope.Connect);
        Define(table, 0x1A, "response information", Kind.Utf8, PropertyScope.ConnAck);
        Define(table, 0x1C, "server reference", Kind.Utf8, PropertyScope.ConnAck | PropertyScope.Disconnect);
        Define(table, ReasonString, "reason string", Kind.Utf8,
            PropertyScope.ConnAck | PropertyScope.PubAck | PropertyScope.SubAck | PropertyScope.UnsubAck | PropertyScope.Disconnect | PropertyScope.Auth);
        Define(table, ReceiveMaximum, "receive maximum", Kind.TwoByte, PropertyScope.Connect | PropertyScope.ConnAck);
        Define(table, TopicAliasMaximum, "topic alias maximum", Kind.TwoByte, PropertyScope.Connect | PropertyScope.ConnAck);
        Define(table, TopicAlias, "topic alias", Kind.TwoByte, PropertyScope.Publish);
        Define(table, 0x24, "maximum QoS", Kind.Boolean, PropertyScope.ConnAck);
        Define(table, 0x25, "retain available", Kind.Boolean, PropertyScope.ConnAck);
        Define(table, UserProperty, "user property", Kind.Utf8Pair, PropertyScope.All);
        Define(table, MaximumPacketSize, "maximum packet size", Kind.FourByte, PropertyScope.Connect | PropertyScope.ConnAck);
        Define(table, 0x28, "wildcard subscription available", Kind.Boolean, PropertyScope.ConnAck);
        Define(table, 0x29, "subscription identifiers available", Kind.Boolean, PropertyScope.ConnAck);
        Define(table, 0x2A, "shared subscription available", Kind.Boolean, PropertyScope.ConnAck);
        return table;
    }

    private static void Define(Definition?[] table, byte id, string name, Kind kind, PropertyScope scopes) =>
        table[id] = new Definition($"{name} (0x{id:X2})", kind, scopes);
}
