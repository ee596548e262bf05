using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ExtAuthz.Identity.X509;
using ExtAuthz.Registry;

namespace ExtAuthz.Identity;

/// <summary>
/// X.509 client certificates to principals. The certificate arrives as Envoy sends it, URL-encoded PEM
/// (<c>attributes.source.certificate</c>, with <c>include_peer_certificate</c>), or inside an
/// <c>x-forwarded-client-cert</c> header (<c>SANITIZE_SET</c>); the transport layer passes the string
/// and the connection's facts, nothing Envoy-specific. The certificate is resolved through the registry
/// by its ID (the lowercase hex SHA-256 of its DER): a registered certificate must be ACTIVE and within
/// its validity period; an unregistered one is accepted only through an ACTIVE auto-registering CA that
/// signed it. Per snapshot, the encoded string maps straight to the certificate's ID, so a known
/// device's PEM is decoded once per snapshot and never X.509-parsed here at all (the registry parses a
/// registered certificate once, and keeps it across reloads). Bad input of any kind is a refusal with
/// a precise reason, never an exception.
/// </summary>
public static class X509CertificateIdentity
{
    /// <summary>Each snapshot's cache remembers at least this many certificates (or twice the registered ones, if more).</summary>
    public const int MinimumCacheCapacity = 16_384;

    /// <summary>A certificate as <c>attributes.source.certificate</c> carries it (URL-encoded PEM of the leaf).</summary>
    public static IdentityResult FromEnvoyCertificate(RegistrySnapshot snapshot, string? urlEncodedPem, ConnectionFacts facts,
        TimeProvider? time = null, PolicyOverrides? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(facts);
        if (string.IsNullOrEmpty(urlEncodedPem))
        {
            return IdentityResult.Fail(IdentityFailure.Missing, "no client certificate was presented");
        }

        var cache = CertificateCache.For(snapshot);
        return cache.TryGet(CertificateCache.Kind.Certificate, urlEncodedPem, out var entry)
            ? Resolve(snapshot, entry, facts, time, overrides)
            : DecodeNew(snapshot, cache, urlEncodedPem, facts, time, overrides);
    }

    /// <summary>
    /// The same, from the field's UTF-8 bytes as gRPC received them: a known device's certificate is found
    /// without becoming a string. (The Check service refuses a field that is not UTF-8, as protobuf does;
    /// any other caller's bad sequences decode as U+FFFD, which no certificate contains.)
    /// </summary>
    public static IdentityResult FromEnvoyCertificate(RegistrySnapshot snapshot, ReadOnlySpan<byte> urlEncodedPemUtf8, ConnectionFacts facts,
        TimeProvider? time = null, PolicyOverrides? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(facts);
        if (urlEncodedPemUtf8.IsEmpty)
        {
            return IdentityResult.Fail(IdentityFailure.Missing, "no client certificate was presented");
        }

        var cache = CertificateCache.For(snapshot);
        return cache.TryGet(urlEncodedPemUtf8, out var entry)
            ? Resolve(snapshot, entry, facts, time, overrides)
            : DecodeNew(snapshot, cache, Encoding.UTF8.GetString(urlEncodedPemUtf8), facts, time, overrides);
    }

    /// <summary>
    /// A certificate as an <c>x-forwarded-client-cert</c> header value carries it: exactly one element
    /// (what <c>SANITIZE_SET</c> writes), with a <c>Hash</c>. With a <c>Cert</c>, the Hash must be its
    /// SHA-256; without one, the Hash names a registered certificate (an auto-registered certificate
    /// needs the Cert, since its CA must verify it).
    /// </summary>
    public static IdentityResult FromForwardedClientCert(RegistrySnapshot snapshot, string? headerValue, ConnectionFacts facts,
        TimeProvider? time = null, PolicyOverrides? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(facts);
        if (string.IsNullOrEmpty(headerValue))
        {
            return IdentityResult.Fail(IdentityFailure.Missing, "no x-forwarded-client-cert header");
        }

        var cache = CertificateCache.For(snapshot);
        if (cache.TryGet(CertificateCache.Kind.ForwardedHeader, headerValue, out var entry))
        {
            return Resolve(snapshot, entry, facts, time, overrides);
        }

        var parsing = ForwardedClientCert.Parse(headerValue);
        if (!parsing.Succeeded)
        {
            return IdentityResult.Fail(IdentityFailure.Malformed, parsing.Error!);
        }

        if (parsing.Elements!.Count != 1)
        {
            return IdentityResult.Fail(IdentityFailure.Malformed,
                $"the x-forwarded-client-cert header holds {parsing.Elements.Count} elements; Envoy's SANITIZE_SET writes exactly one (APPEND_FORWARD and FORWARD_ONLY pass on what the client or earlier proxies wrote)");
        }

        var element = parsing.Elements[0];
        if (element.Hash is null)
        {
            return IdentityResult.Fail(IdentityFailure.Malformed, "the x-forwarded-client-cert element has no Hash (Envoy always writes one)");
        }

        if (element.Hash.Length != 64 || !element.Hash.All(char.IsAsciiHexDigit))
        {
            return IdentityResult.Fail(IdentityFailure.Malformed, "the x-forwarded-client-cert Hash is not 64 hex digits (a SHA-256)");
        }

        var hash = element.Hash.ToLowerInvariant();
        if (element.Cert is null)
        {
            if (!snapshot.Certificates.TryGetValue(hash, out var record))
            {
                return IdentityResult.Fail(IdentityFailure.Unregistered,
                    $"certificate {hash} is not registered (the x-forwarded-client-cert has no Cert, so no CA can vouch for it; set set_current_client_cert_details.cert)", hash);
            }

            if (EntryFor(record) is not { } known)
            {
                return IdentityResult.Fail(IdentityFailure.Malformed, $"registered certificate {hash} cannot be parsed", hash);
            }

            cache.TryAdd(CertificateCache.Kind.ForwardedHeader, headerValue, known);
            return Resolve(snapshot, known, facts, time, overrides);
        }

        var decoding = EnvoyCertificate.Decode(element.Cert);
        if (!decoding.Succeeded)
        {
            return IdentityResult.Fail(IdentityFailure.Malformed, "malformed x-forwarded-client-cert Cert: " + decoding.Reason);
        }

        var certificate = decoding.Certificate!;
        if (certificate.Id != hash)
        {
            return IdentityResult.Fail(IdentityFailure.Malformed,
                $"the x-forwarded-client-cert Hash {hash} is not the SHA-256 of its Cert ({certificate.Id})", certificate.Id);
        }

        return ResolveNew(snapshot, cache, CertificateCache.Kind.ForwardedHeader, certificate.IsEnvoyEncoding ? headerValue : null, certificate, facts, time, overrides);
    }

    /// <summary>This snapshot's certificate cache figures.</summary>
    public static CertificateCacheStatistics CacheStatistics(RegistrySnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return CertificateCache.For(snapshot).Statistics();
    }

    /// <summary>An encoded certificate the cache does not know: decoded, then resolved (and cached when it is Envoy's encoding of a fleet certificate).</summary>
    private static IdentityResult DecodeNew(RegistrySnapshot snapshot, CertificateCache cache, string urlEncodedPem, ConnectionFacts facts, TimeProvider? time,
        PolicyOverrides? overrides)
    {
        var decoding = EnvoyCertificate.Decode(urlEncodedPem);
        if (!decoding.Succeeded)
        {
            return IdentityResult.Fail(IdentityFailure.Malformed, "malformed client certificate: " + decoding.Reason);
        }

        var certificate = decoding.Certificate!;
        return ResolveNew(snapshot, cache, CertificateCache.Kind.Certificate, certificate.IsEnvoyEncoding ? urlEncodedPem : null, certificate, facts, time, overrides);
    }

    /// <summary>A certificate decoded just now: registered (no parse: the registry holds it), or perhaps auto-registered (one parse).</summary>
    private static IdentityResult ResolveNew(RegistrySnapshot snapshot, CertificateCache cache, CertificateCache.Kind kind, string? cacheKey,
        EnvoyCertificate certificate, ConnectionFacts facts, TimeProvider? time, PolicyOverrides? overrides)
    {
        var id = certificate.Id;
        if (snapshot.Certificates.TryGetValue(id, out var record))
        {
            if (EntryFor(record) is not { } known)
            {
                return IdentityResult.Fail(IdentityFailure.Malformed, $"registered certificate {id} cannot be parsed", id);
            }

            if (cacheKey is not null)
            {
                cache.TryAdd(kind, cacheKey, known);
            }

            return Resolve(snapshot, known, facts, time, overrides);
        }

        if (!MayAutoRegister(snapshot, certificate.IssuerName.Span))
        {
            return IdentityResult.Fail(IdentityFailure.Unregistered, $"certificate {id} is not registered and no auto-registering CA signed it", id);
        }

        X509Certificate2 parsed;
        try
        {
            parsed = certificate.Parse();
            cache.CountParse();
        }
        catch (CryptographicException ex)
        {
            return IdentityResult.Fail(IdentityFailure.Malformed, $"malformed client certificate {id}: {ex.Message}", id);
        }

        using (parsed)
        {
            CertificateCache.Entry entry;
            IdentityResult result;
            try
            {
                entry = new CertificateCache.Entry(id, parsed.NotBefore.ToUniversalTime(), parsed.NotAfter.ToUniversalTime());
                if (OutsideValidity(entry, time) is { } invalid)
                {
                    return invalid;
                }

                result = Outcome(snapshot, id, PrincipalResolver.ForCertificate(snapshot, parsed, facts, time, overrides));
            }
            catch (Exception ex) when (ex is CryptographicException or AsnContentException or FormatException or ArgumentException)
            {
                // The platform parsed the certificate but refuses one of its fields (a mangled validity date, say).
                return IdentityResult.Fail(IdentityFailure.Malformed, $"malformed client certificate {id}: {ex.Message}", id);
            }

            if (cacheKey is not null && result.Failure is IdentityFailure.None or IdentityFailure.NotActive)
            {
                // The CA's key verified it: a device of the fleet, not a stranger's invention.
                cache.TryAdd(kind, cacheKey, entry);
            }

            return result;
        }
    }

    private static IdentityResult Resolve(RegistrySnapshot snapshot, CertificateCache.Entry entry, ConnectionFacts facts, TimeProvider? time, PolicyOverrides? overrides) =>
        OutsideValidity(entry, time) ?? Outcome(snapshot, entry.Id, PrincipalResolver.ForCertificateId(snapshot, entry.Id, facts, overrides, time));

    private static IdentityResult Outcome(RegistrySnapshot snapshot, string id, Authentication authentication)
    {
        if (authentication.Succeeded)
        {
            return new IdentityResult(authentication, IdentityFailure.None, id);
        }

        var reason = authentication.FailureReason ?? $"certificate {id} was refused";
        IdentityFailure failure;
        if (snapshot.Certificates.TryGetValue(id, out var record))
        {
            failure = record.Status == CertificateStatus.Active ? IdentityFailure.Malformed : IdentityFailure.NotActive;
        }
        else
        {
            failure = reason.Contains("auto-registered as", StringComparison.Ordinal) ? IdentityFailure.NotActive : IdentityFailure.Unregistered;
        }

        return new IdentityResult(authentication, failure, id);
    }

    private static IdentityResult? OutsideValidity(CertificateCache.Entry entry, TimeProvider? time)
    {
        var now = (time ?? TimeProvider.System).GetUtcNow().UtcDateTime;
        return now < entry.NotBefore ? IdentityResult.Fail(IdentityFailure.NotYetValid, $"certificate {entry.Id} is not valid before {entry.NotBefore:O}", entry.Id)
            : now > entry.NotAfter ? IdentityResult.Fail(IdentityFailure.Expired, $"certificate {entry.Id} expired at {entry.NotAfter:O}", entry.Id)
            : null;
    }

    /// <summary>The registered certificate's ID and validity (the registry parses it once and keeps it across reloads).</summary>
    private static CertificateCache.Entry? EntryFor(CertificateRecord record)
    {
        try
        {
            return new CertificateCache.Entry(record.Id, record.Data.NotBeforeUtc, record.Data.NotAfterUtc);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    /// <summary>Whether some auto-registering CA (in any state: the registry explains an INACTIVE one) has the certificate's issuer as its subject.</summary>
    private static bool MayAutoRegister(RegistrySnapshot snapshot, ReadOnlySpan<byte> issuerName)
    {
        foreach (var ca in snapshot.CaCertificates.Values)
        {
            if (ca.AutoRegistration && ca.Certificate.SubjectName.RawData.AsSpan().SequenceEqual(issuerName))
            {
                return true;
            }
        }

        return false;
    }
}
