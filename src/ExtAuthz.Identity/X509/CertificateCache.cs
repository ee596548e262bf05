using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Text;
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
/// empty one): the encoded certificate, or the whole XFCC header, to the certificate ID and validity
/// period. A hit costs one dictionary lookup; nothing is decoded or parsed. Encoded certificates are
/// keyed by their bytes, hashed with XxHash3, so one received as gRPC's UTF-8 bytes is found without
/// becoming a string. Only what Envoy
/// itself would write is admitted (one key per certificate), and only for certificates the registry
/// knows (registered, in any state) or that an auto-registering CA signed, so strangers sending
/// endless new certificates cannot grow it; a hard capacity bounds it besides, and when full it stops
/// admitting rather than evicting (the devices already in it stay fast).
/// </summary>
internal sealed class CertificateCache
{
    // An encoded certificate given as a string is looked up from a stack buffer up to this many bytes, else a pooled one.
    private const int StackLimit = 4096;

    private readonly ConcurrentDictionary<byte[], Entry> certificates;
    private readonly ConcurrentDictionary<byte[], Entry>.AlternateLookup<ReadOnlySpan<byte>> certificatesByBytes;
    private readonly ConcurrentDictionary<string, Entry> headers = new(StringComparer.Ordinal);
    private readonly int capacity;
    private int count;
    private long hits;
    private long misses;
    private long parses;

    public CertificateCache(int capacity)
    {
        this.capacity = capacity;
        certificates = new ConcurrentDictionary<byte[], Entry>(EncodedCertificateComparer.Instance);
        certificatesByBytes = certificates.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

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

    /// <summary>Looks up an encoded certificate by its UTF-8 bytes, as gRPC received them.</summary>
    public bool TryGet(ReadOnlySpan<byte> encodedCertificate, out Entry entry) =>
        Counted(certificatesByBytes.TryGetValue(encodedCertificate, out entry));

    public bool TryGet(Kind kind, string key, out Entry entry)
    {
        if (kind == Kind.ForwardedHeader)
        {
            return Counted(headers.TryGetValue(key, out entry));
        }

        // Only Envoy's own encoding is admitted, and it is ASCII: any other string cannot be here.
        if (!Ascii.IsValid(key))
        {
            entry = default;
            return Counted(false);
        }

        if (key.Length <= StackLimit)
        {
            Span<byte> bytes = stackalloc byte[key.Length];
            Ascii.FromUtf16(key, bytes, out _);
            return TryGet(bytes, out entry);
        }

        var rented = ArrayPool<byte>.Shared.Rent(key.Length);
        try
        {
            Ascii.FromUtf16(key, rented, out _);
            return TryGet(rented.AsSpan(0, key.Length), out entry);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Remembers an entry unless the cache is full; true when it was added. An encoded certificate's key is ASCII (what Envoy writes).</summary>
    public bool TryAdd(Kind kind, string key, Entry entry)
    {
        if (kind == Kind.Certificate && !Ascii.IsValid(key))
        {
            throw new ArgumentException("an encoded certificate is cached only as Envoy writes it, which is ASCII", nameof(key));
        }

        if (Interlocked.Increment(ref count) > capacity)
        {
            Interlocked.Decrement(ref count);
            return false;
        }

        var added = kind == Kind.Certificate ? certificates.TryAdd(Encoding.ASCII.GetBytes(key), entry) : headers.TryAdd(key, entry);
        if (added)
        {
            return true;
        }

        Interlocked.Decrement(ref count);
        return false;
    }

    public void CountParse() => Interlocked.Increment(ref parses);

    public CertificateCacheStatistics Statistics() =>
        new(Volatile.Read(ref count), capacity, Interlocked.Read(ref hits), Interlocked.Read(ref misses), Interlocked.Read(ref parses));

    private bool Counted(bool hit)
    {
        Interlocked.Increment(ref hit ? ref hits : ref misses);
        return hit;
    }

    /// <summary>What a request needs about a known certificate: its ID and validity period (UTC).</summary>
    internal readonly record struct Entry(string Id, DateTime NotBefore, DateTime NotAfter);

    /// <summary>
    /// Byte-wise equality, and XxHash3 under a seed drawn per process, so nobody outside can aim
    /// certificates at one bucket (admission already limits the keys to the fleet's certificates).
    /// </summary>
    private sealed class EncodedCertificateComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly EncodedCertificateComparer Instance = new();

        private static readonly long Seed = Random.Shared.NextInt64();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => GetHashCode((ReadOnlySpan<byte>)obj);

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate) => (int)XxHash3.HashToUInt64(alternate, Seed);

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}
