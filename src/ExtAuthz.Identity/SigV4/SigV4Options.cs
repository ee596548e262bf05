using System.Collections.Frozen;

namespace ExtAuthz.Identity.SigV4;

/// <summary>What <see cref="SigV4Verifier"/> accepts. The defaults are AWS's.</summary>
public sealed record SigV4Options
{
    /// <summary>The longest presigned URL AWS accepts: <c>X-Amz-Expires</c> of 604,800 seconds.</summary>
    public static readonly TimeSpan AwsMaxPresignedExpiry = TimeSpan.FromDays(7);

    /// <summary>AWS IoT's signing names: <c>iotdata</c> (the HTTP data plane), <c>iot</c> (the control plane), <c>iotdevicegateway</c> (MQTT over WebSocket).</summary>
    public static IReadOnlySet<string> IotServices { get; } = new[] { "iotdata", "iot", "iotdevicegateway" }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The largest <see cref="MaxClockSkew"/> accepted: beyond a day, a captured request could be replayed for longer than a signing key is scoped for.</summary>
    public static readonly TimeSpan MostClockSkew = TimeSpan.FromDays(1);

    /// <summary>How far a request's date may be from this server's clock, either way (AWS: 5 minutes); at most <see cref="MostClockSkew"/>.</summary>
    public TimeSpan MaxClockSkew { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The service names a credential scope may name.</summary>
    public IReadOnlySet<string> Services { get; init; } = IotServices;

    /// <summary>The largest <c>X-Amz-Expires</c> accepted; at most AWS's 7 days.</summary>
    public TimeSpan MaxPresignedExpiry { get; init; } = AwsMaxPresignedExpiry;

    /// <summary>
    /// How many derived signing keys (one per secret, day, region and service) are remembered. A key
    /// costs four HMACs to derive and serves a client all day, so a few thousand cover a large fleet;
    /// beyond that, keys are derived again as needed.
    /// </summary>
    public int SigningKeyCacheCapacity { get; init; } = 4096;
}
