using System.Buffers;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;

namespace ExtAuthz.Identity.SigV4;

/// <summary>
/// SigV4 signing keys, <c>HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")</c>,
/// remembered per (secret, date, region, service): a client signs with the same key all day, so its
/// requests after the first cost one HMAC rather than five. Direct-mapped and fixed in size, so it
/// is bounded whatever clients send, a hit allocates nothing, and readers need no lock (an entry is
/// immutable and replaces its slot's previous one whole). A stale entry (a secret since rotated) is
/// harmless: entries are found by the secret of a key the registry holds now.
/// </summary>
internal sealed class SigningKeyCache
{
    private readonly Entry?[] slots;

    public SigningKeyCache(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        slots = new Entry?[BitOperations.RoundUpToPowerOf2((uint)capacity)];
    }

    /// <summary>The 32-byte signing key; the caller must not change it.</summary>
    public ReadOnlySpan<byte> KeyFor(string secret, ReadOnlySpan<char> date, ReadOnlySpan<char> region, ReadOnlySpan<char> service)
    {
        var hash = HashCode.Combine(secret.GetHashCode(StringComparison.Ordinal), string.GetHashCode(date), string.GetHashCode(region), string.GetHashCode(service));
        ref var slot = ref slots[hash & (slots.Length - 1)];
        var entry = Volatile.Read(ref slot);
        if (entry is not null && entry.Secret == secret && date.SequenceEqual(entry.Date) && region.SequenceEqual(entry.Region) && service.SequenceEqual(entry.Service))
        {
            return entry.Key;
        }

        entry = new Entry(secret, date.ToString(), region.ToString(), service.ToString(), Derive(secret, date, region, service));
        Volatile.Write(ref slot, entry);
        return entry.Key;
    }

    private static byte[] Derive(string secret, ReadOnlySpan<char> date, ReadOnlySpan<char> region, ReadOnlySpan<char> service)
    {
        var seedLength = 4 + Encoding.UTF8.GetMaxByteCount(secret.Length);
        var rented = ArrayPool<byte>.Shared.Rent(seedLength);
        try
        {
            "AWS4"u8.CopyTo(rented);
            var seed = rented.AsSpan(0, 4 + Encoding.UTF8.GetBytes(secret, rented.AsSpan(4)));
            Span<byte> first = stackalloc byte[32];
            Span<byte> second = stackalloc byte[32];
            Mac(seed, date, first);
            Mac(first, region, second);
            Mac(second, service, first);
            var key = new byte[32];
            HMACSHA256.HashData(first, "aws4_request"u8, key);
            return key;
        }
        finally
        {
            // The seed holds the secret itself: do not leave it in a pooled array.
            CryptographicOperations.ZeroMemory(rented.AsSpan(0, seedLength));
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static void Mac(ReadOnlySpan<byte> key, ReadOnlySpan<char> text, Span<byte> destination)
    {
        var rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(text.Length));
        try
        {
            HMACSHA256.HashData(key, rented.AsSpan(0, Encoding.UTF8.GetBytes(text, rented)), destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>A class, not a record: a record's ToString would print the secret.</summary>
    private sealed class Entry(string secret, string date, string region, string service, byte[] key)
    {
        public string Secret { get; } = secret;

        public string Date { get; } = date;

        public string Region { get; } = region;

        public string Service { get; } = service;

        public byte[] Key { get; } = key;
    }
}
