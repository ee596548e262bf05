using System.Collections.Concurrent;

namespace ExtAuthz.Identity.Cognito;

/// <summary>What a token says, read once from its header and payload (unverified until its signature is checked).</summary>
internal sealed record TokenClaims(
    string Alg,
    string? Kid,
    string? Issuer,
    string[] Audiences,
    string? Subject,
    string[]? Amr,
    DateTimeOffset? Expires,
    DateTimeOffset? NotBefore);

/// <summary>
/// A token whose signature checked out: its claims, the authority it was checked against, the key set
/// that verified it (a refreshed key set is a new object, so a cached token whose key was withdrawn is
/// checked again). Each verifier keeps its own (verifiers with different algorithm lists must not vouch
/// for each other's tokens).
/// </summary>
internal sealed record VerifiedToken(TokenClaims Claims, TokenAuthority Authority, SigningKeys Keys);

/// <summary>
/// Tokens verified against one snapshot, keyed by the whole token text, so a client presenting the same
/// token again costs a lookup instead of a signature check (lifetimes and policies are still checked on
/// every use). Only tokens whose signature verified are admitted, so forged tokens cannot grow it; it is
/// bounded besides, and when full it sweeps out expired tokens (at most once a minute) and otherwise
/// stops admitting, the tokens already in it staying fast.
/// </summary>
internal sealed class VerifiedTokenCache(int capacity)
{
    private static readonly TimeSpan SweepGap = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, VerifiedToken> tokens = new(StringComparer.Ordinal);
    private int count;
    private long lastSweep = DateTimeOffset.MinValue.UtcTicks;

    public int Count => Volatile.Read(ref count);

    public bool TryGet(string token, out VerifiedToken verified) => tokens.TryGetValue(token, out verified!);

    public void Add(string token, VerifiedToken verified, DateTimeOffset now, TimeSpan skew)
    {
        if (Interlocked.Increment(ref count) > capacity)
        {
            Interlocked.Decrement(ref count);
            if (!Sweep(now, skew))
            {
                return;
            }

            if (Interlocked.Increment(ref count) > capacity)
            {
                Interlocked.Decrement(ref count);
                return;
            }
        }

        if (!tokens.TryAdd(token, verified))
        {
            // Verified again because its keys were refreshed: the new verification replaces the old.
            tokens[token] = verified;
            Interlocked.Decrement(ref count);
        }
    }

    /// <summary>Drops tokens past their expiry (and the skew); false when a sweep ran less than a minute ago.</summary>
    private bool Sweep(DateTimeOffset now, TimeSpan skew)
    {
        var last = Interlocked.Read(ref lastSweep);
        if (now.UtcTicks - last < SweepGap.Ticks || Interlocked.CompareExchange(ref lastSweep, now.UtcTicks, last) != last)
        {
            return false;
        }

        foreach (var (key, value) in tokens)
        {
            if (value.Claims.Expires is not { } expires || expires + skew < now)
            {
                if (tokens.TryRemove(key, out _))
                {
                    Interlocked.Decrement(ref count);
                }
            }
        }

        return true;
    }
}
