using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace ExtAuthz.Identity.Sessions;

/// <summary>What a session handle vouches for: who authenticated on the WebSocket upgrade, from where, and until when.</summary>
/// <param name="PrincipalKind">The registry's principal kind (<c>Certificate</c>, <c>CognitoAuthenticated</c>, …).</param>
/// <param name="PrincipalId">Certificate ID, Cognito identity ID, IAM user or role name.</param>
/// <param name="SourceIp">The client address the upgrade came from (<c>aws:SourceIp</c>), when known.</param>
/// <param name="DomainName">The domain the client connected to (<c>iot:DomainName</c>), when known.</param>
/// <param name="IssuedAt">When the handle was issued.</param>
/// <param name="ExpiresAt">After this the handle is refused.</param>
/// <param name="PoolId">For a Cognito identity, its identity pool (the gate resolves its roles through it).</param>
public sealed record SessionClaims(string PrincipalKind, string PrincipalId, string? SourceIp, string? DomainName,
    DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt, string? PoolId = null);

/// <summary>
/// Session handles: an MQTT-over-WebSocket client is authenticated on its HTTP upgrade (<c>GET /mqtt</c>),
/// but its client ID is known only at MQTT CONNECT, inside the WebSocket, where Envoy no longer asks us.
/// The Check service therefore answers the upgrade with a handle, a header Envoy forwards upstream, and
/// the MQTT gate trusts the principal it names without seeing the credential again.
/// A handle is <c>v1.</c> + base64url(JSON claims) + <c>.</c> + base64url(HMAC-SHA256 over the first
/// two parts). It is short-lived because it is used once, right after the upgrade; the key is shared by
/// every process that issues or verifies (a file, or a random per-process key when both live in one process).
/// </summary>
public sealed class SessionHandles
{
    /// <summary>The shortest key accepted: HMAC-SHA256's block of strength.</summary>
    public const int MinimumKeyBytes = 32;

    /// <summary>Handles longer than this are refused before any work (a real one is a few hundred bytes).</summary>
    public const int MaxHandleLength = 4096;

    private const string Version = "v1";

    private readonly byte[] key;
    private readonly TimeProvider time;

    public SessionHandles(ReadOnlySpan<byte> key, TimeSpan lifetime, TimeProvider? time = null)
    {
        if (key.Length < MinimumKeyBytes)
        {
            throw new ArgumentException($"a session key needs at least {MinimumKeyBytes} bytes, not {key.Length}", nameof(key));
        }

        if (lifetime <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(lifetime), lifetime, "a session handle's lifetime must be positive");
        }

        this.key = key.ToArray();
        Lifetime = lifetime;
        this.time = time ?? TimeProvider.System;
    }

    public TimeSpan Lifetime { get; }

    /// <summary>A random key, for an issuer and verifier in the same process.</summary>
    public static SessionHandles WithRandomKey(TimeSpan lifetime, TimeProvider? time = null) =>
        new(RandomNumberGenerator.GetBytes(MinimumKeyBytes), lifetime, time);

    /// <summary>A handle for a principal authenticated just now.</summary>
    public string Issue(string principalKind, string principalId, string? sourceIp, string? domainName, string? poolId = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(principalKind);
        ArgumentException.ThrowIfNullOrEmpty(principalId);
        var now = time.GetUtcNow();
        var payload = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(payload))
        {
            json.WriteStartObject();
            json.WriteString("k", principalKind);
            json.WriteString("p", principalId);
            if (sourceIp is not null)
            {
                json.WriteString("ip", sourceIp);
            }

            if (domainName is not null)
            {
                json.WriteString("d", domainName);
            }

            if (poolId is not null)
            {
                json.WriteString("pool", poolId);
            }

            json.WriteNumber("iat", now.ToUnixTimeMilliseconds());
            json.WriteNumber("exp", (now + Lifetime).ToUnixTimeMilliseconds());
            json.WriteEndObject();
        }

        var signed = Version + "." + Base64Url.EncodeToString(payload.WrittenSpan);
        return signed + "." + Base64Url.EncodeToString(Sign(signed));
    }

    /// <summary>Checks a handle's form, signature and lifetime; on failure <paramref name="reason"/> says which.</summary>
    public bool TryVerify(string? handle, out SessionClaims? claims, out string? reason)
    {
        claims = null;
        if (string.IsNullOrEmpty(handle))
        {
            reason = "no session handle";
            return false;
        }

        if (handle.Length > MaxHandleLength)
        {
            reason = $"the session handle is longer than {MaxHandleLength} characters";
            return false;
        }

        var lastDot = handle.LastIndexOf('.');
        var firstDot = handle.IndexOf('.', StringComparison.Ordinal);
        if (firstDot < 0 || lastDot == firstDot || !handle.AsSpan(0, firstDot).SequenceEqual(Version))
        {
            reason = "the session handle is not a v1 handle (v1.<claims>.<signature>)";
            return false;
        }

        var signed = handle.AsSpan(0, lastDot);
        if (!TryDecode(handle.AsSpan(lastDot + 1), out var signature) || signature.Length != HMACSHA256.HashSizeInBytes)
        {
            reason = "the session handle's signature is not base64url of 32 bytes";
            return false;
        }

        if (!CryptographicOperations.FixedTimeEquals(Sign(signed), signature))
        {
            reason = "the session handle's signature does not verify (forged, altered, or signed with another key)";
            return false;
        }

        if (!TryDecode(handle.AsSpan(firstDot + 1, lastDot - firstDot - 1), out var payload) || !TryReadClaims(payload, out claims))
        {
            reason = "the session handle's claims are unreadable";
            return false;
        }

        var now = time.GetUtcNow();
        if (now >= claims!.ExpiresAt)
        {
            reason = $"the session handle expired at {claims.ExpiresAt:O}";
            claims = null;
            return false;
        }

        reason = null;
        return true;
    }

    private byte[] Sign(ReadOnlySpan<char> signed)
    {
        Span<byte> bytes = stackalloc byte[Encoding.ASCII.GetMaxByteCount(signed.Length)];
        var length = Encoding.ASCII.GetBytes(signed, bytes);
        return HMACSHA256.HashData(key, bytes[..length]);
    }

    private static bool TryDecode(ReadOnlySpan<char> text, out byte[] bytes)
    {
        // TryDecodeFromChars throws on characters outside the alphabet; IsValid screens them first.
        bytes = [];
        if (!Base64Url.IsValid(text, out var length))
        {
            return false;
        }

        bytes = new byte[length];
        if (Base64Url.TryDecodeFromChars(text, bytes, out var written))
        {
            bytes = bytes[..written];
            return true;
        }

        return false;
    }

    private static bool TryReadClaims(byte[] payload, out SessionClaims? claims)
    {
        claims = null;
        try
        {
            using var document = JsonDocument.Parse(payload);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("k", out var kind) || kind.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("p", out var principal) || principal.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("iat", out var issued) || !issued.TryGetInt64(out var issuedAt)
                || !root.TryGetProperty("exp", out var expires) || !expires.TryGetInt64(out var expiresAt))
            {
                return false;
            }

            claims = new SessionClaims(kind.GetString()!, principal.GetString()!,
                root.TryGetProperty("ip", out var ip) ? ip.GetString() : null,
                root.TryGetProperty("d", out var domain) ? domain.GetString() : null,
                DateTimeOffset.FromUnixTimeMilliseconds(issuedAt), DateTimeOffset.FromUnixTimeMilliseconds(expiresAt),
                root.TryGetProperty("pool", out var pool) ? pool.GetString() : null);
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentOutOfRangeException)
        {
            return false;
        }
    }
}
