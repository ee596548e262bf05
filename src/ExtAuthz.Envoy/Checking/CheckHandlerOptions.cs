using ExtAuthz.Identity.Sessions;

namespace ExtAuthz.Envoy.Checking;

/// <summary>How the Check handler answers.</summary>
public sealed record CheckHandlerOptions
{
    /// <summary>Answer every Check with allow, and log the real decision (<c>--dry-run</c>): for rolling out policies without risk.</summary>
    public bool DryRun { get; init; }

    /// <summary>Issues the handles answered to WebSocket upgrades; null refuses upgrades (no MQTT gate to trust them).</summary>
    public SessionHandles? Sessions { get; init; }

    /// <summary>Request paths longer than this are refused before routing (Envoy's own header limit is 60 KiB).</summary>
    public int MaxPathLength { get; init; } = 8192;

    public TimeProvider Time { get; init; } = TimeProvider.System;
}
