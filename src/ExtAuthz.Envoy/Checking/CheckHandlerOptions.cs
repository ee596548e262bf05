using ExtAuthz.Identity.Cognito;
using ExtAuthz.Identity.Sessions;
using ExtAuthz.Identity.SigV4;

namespace ExtAuthz.Envoy.Checking;

/// <summary>How the Check handler answers.</summary>
public sealed record CheckHandlerOptions
{
    /// <summary>Answer every Check with allow, and log the real decision (<c>--dry-run</c>): for rolling out policies without risk.</summary>
    public bool DryRun { get; init; }

    /// <summary>Issues the handles answered to WebSocket upgrades; null refuses upgrades (no MQTT gate to trust them).</summary>
    public SessionHandles? Sessions { get; init; }

    /// <summary>Verifies Cognito and federated bearer tokens on 443; null refuses them.</summary>
    public CognitoTokenVerifier? Tokens { get; init; }

    /// <summary>
    /// The query parameter that may carry a bearer token on 443 (for WebSocket upgrades from browsers,
    /// which cannot set headers); null reads only the Authorization header.
    /// </summary>
    public string? TokenQueryParameter { get; init; }

    /// <summary>Verifies SigV4 signatures (header or presigned URL) on 443; null refuses them.</summary>
    public SigV4Verifier? Signatures { get; init; }

    /// <summary>Request paths longer than this are refused before routing (Envoy's own header limit is 60 KiB).</summary>
    public int MaxPathLength { get; init; } = 8192;

    public TimeProvider Time { get; init; } = TimeProvider.System;
}
