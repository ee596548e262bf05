using ExtAuthz.Mqtt.Codec;

namespace ExtAuthz.Mqtt.Gate;

/// <summary>What the gate does with an MQTT 3.1.1 PUBLISH it refuses (3.1.1 has no way to say no).</summary>
public enum DeniedPublishV311
{
    /// <summary>Close the connection, as AWS IoT Core does.</summary>
    Close,

    /// <summary>Drop the message and acknowledge it (PUBACK, or PUBREC then PUBCOMP), so the client carries on none the wiser.</summary>
    Drop,
}

/// <summary>How the gate treats its connections.</summary>
public sealed record MqttGateOptions
{
    /// <summary>MQTT's own ceiling for a packet (a remaining length of 268,435,455 plus its 5-byte fixed header).</summary>
    public const int MqttMaxPacketSize = 268_435_460;

    /// <summary>How long a new connection may take to send CONNECT.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The largest packet a client may send, in bytes, fixed header included; a larger one closes its
    /// connection (MQTT 5: DISCONNECT 0x95). The default is AWS IoT Core's message size limit, 128 KiB.
    /// </summary>
    public int MaxPacketSize { get; init; } = MqttPacketReader.DefaultMaxPacketSize;

    public DeniedPublishV311 DeniedPublishV311 { get; init; } = DeniedPublishV311.Close;

    /// <summary>Let everything through and log the real decisions with <c>enforced: false</c> (<c>serve --dry-run</c>).</summary>
    public bool DryRun { get; init; }

    /// <summary>Decisions each connection remembers by (action, topic) until the configuration changes; when full it starts again, so a client inventing topics cannot grow it.</summary>
    public int DecisionCacheCapacity { get; init; } = 1024;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ConnectTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPacketSize, 64);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxPacketSize, MqttMaxPacketSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(DecisionCacheCapacity, 1);
        ArgumentNullException.ThrowIfNull(TimeProvider);
    }
}
