using System.Collections.Concurrent;
using ExtAuthz.Registry;

namespace ExtAuthz.Identity.X509;

/// <summary>How a snapshot's certificate cache is doing (for metrics and tests).</summary>
/// <param name="Entries">Encoded certificates and XFCC headers remembered.</param>
/// <param name="Capacity">The most it will remember; once full, new certificates are decoded on every request but still resolved.</param>
/// <param name="Hits">Requests answered without decoding anything.</param>
/// <param name="Misses">Requests whose certificate or header had to be decoded.</param>
/// <param name="Parses">Full X.509 parses this layer did (only for unregistered certificates an auto-registering CA may have signed).</param>
public readonly record struct CertificateCacheStatistics(int Entries, int Capacity, long Hits, long Misses, long Parses);

/// <summary>
/// Per snapshot (kept in <see cref="RegistrySnapshot.GetOrAddExtension{T}"/>, so a reload starts an
/// empty one): the encoded certificate string, or the whole XFCC header, to the certificate ID and
/// validity period. A hit costs one dictionary lookup; nothing is decoded or parsed. Only what Envoy
/// itself would write is admitted (one key per certificate), and only for certificates the registry
/// knows (registered, in any state) or that an auto-registering CA signed, so strangers sending
/// endless new certificates cannot grow it; a hard capacity bounds it besides, and when full it stops
/// admitting rather than evicting (the devices already in it stay fast).
/// </summary>
internal sealed class CertificateCache(int capacity)
{
    private readonly ConcurrentDictionary<string, Entry> certificates = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Entry> headers = new(StringComparer.Ordinal);
    private int count;
    private long hits;
    private long misses;
    private long parses;

    public enum Kind
    {
        /// <summary>Keyed by the URL-encoded PEM (<c>attributes.source.certificate</c>).</summary>
        Certificate,

        /// <summary>Keyed by the whole <c>x-forwarded-client-cert</c> value.</summary>
        ForwardedHeader,
    }

    public int Capacity => capacity;

    public static CertificateCache For(RegistrySnapshot snapshot) =>
        snapshot.GetOrAddExtension(static s => new CertificateCache(Math.Max(X509CertificateIdentity.MinimumCacheCapacity, 2 * s.Certificates.Count)));

    public bool TryGet(Kind kind, string key, out Entry entry)
    {
        if (Map(kind).TryGetValue(key, out entry))
        {
            Interlocked.Increment(ref hits);
            return true;
        }

        Interlocked.Increment(ref misses);
        return false;
    }

    /// <summary>Remembers an entry unless the cache is full; true when it was added.</summary>
    public bool TryAdd(Kind kind, string key, Entry entry)
    {
        if (Interlocked.Increment(ref count) > capacity)
        {
            Interlocked.Decrement(ref count);
            return false;
        }

        if (Map(kind).TryAdd(key, entry))
        {
            return true;
        }

        Interlocked.Decrement(ref count);
        return false;
    }

    public void CountParse() => Interlocked.Increment(ref parses);

    public CertificateCacheStatistics Statistics() =>
        new(Volatile.Read(ref count), capacity, Interlocked.Read(ref hits), Interlocked.Read(ref misses), Interlocked.Read(ref parses));

    private ConcurrentDictionary<string, Entry> Map(Kind kind) => kind == Kind.Certificate ? certificates : headers;

    /// <summary>What a request needs about a known certificate: its ID and validity period (UTC).</summary>
    internal readonly record struct Entry(string Id, DateTime NotBefore, DateTime NotAfter);
}
