using System.Buffers;
using System.Collections.Frozen;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ExtAuthz.Registry;

namespace ExtAuthz.Identity.SigV4;

/// <summary>
/// AWS Signature Version 4 (<c>AWS4-HMAC-SHA256</c>) to IAM principals, as AWS checks it: the
/// <c>Authorization</c> header form and the presigned-URL form (AWS IoT's MQTT over WebSocket). The
/// canonical request is rebuilt from the request as received, the signing key derived from the
/// registered access key's secret (cached per day, region and service), and the signature compared in
/// constant time; the credential scope must name the registry's region and an accepted service, and
/// the request's date must be within the clock skew (a presigned URL: before its expiry). An access key
/// resolves to its owner, an IAM user or, for a temporary key with its session token, an IAM role.
/// Bad input of any kind is a refusal with a precise reason, never an exception; no reason holds a
/// secret, a session token or the canonical request itself (which may carry one), only the string to
/// sign, which the client can compare with its own.
/// </summary>
public sealed class SigV4Verifier
{
    private readonly SigV4Options options;
    private readonly TimeProvider time;
    private readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> services;
    private readonly string serviceList;
    private readonly SigningKeyCache signingKeys;

    public SigV4Verifier(SigV4Options? options = null, TimeProvider? time = null)
    {
        this.options = options ?? new SigV4Options();
        ArgumentNullException.ThrowIfNull(this.options.Services, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(this.options.MaxClockSkew, TimeSpan.Zero, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(this.options.MaxClockSkew, SigV4Options.MostClockSkew, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(this.options.MaxPresignedExpiry, TimeSpan.FromSeconds(1), nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(this.options.MaxPresignedExpiry, SigV4Options.AwsMaxPresignedExpiry, nameof(options));
        this.time = time ?? TimeProvider.System;
        var set = this.options.Services.ToFrozenSet(StringComparer.Ordinal);
        services = set.GetAlternateLookup<ReadOnlySpan<char>>();
        serviceList = string.Join(", ", set.Order(StringComparer.Ordinal));
        signingKeys = new SigningKeyCache(this.options.SigningKeyCacheCapacity);
    }

    public SigV4Options Options => options;

    /// <summary>
    /// Whether the request carries a SigV4 signature: an <c>Authorization</c> header of an <c>AWS4-</c>
    /// algorithm, or <c>X-Amz-Algorithm</c> in the query. Other algorithms (SigV4a) count, so that
    /// <see cref="Verify"/> can say they are not supported.
    /// </summary>
    public static bool IsSigV4(SignedHttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SigV4Claim.IsPresent(request);
    }

    /// <summary>The request's signer as an IAM principal of <paramref name="snapshot"/>, or why the signature is refused.</summary>
    public IdentityResult Verify(RegistrySnapshot snapshot, SignedHttpRequest request, ConnectionFacts facts)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(facts);
        var (key, failure) = Authenticate(request, snapshot.Region, snapshot.AccessKeys);
        return key is null ? failure : new IdentityResult(PrincipalResolver.ForIam(snapshot, key.Owner, facts), IdentityFailure.None, key.Id);
    }

    /// <summary>The access key that signed the request, checked against <paramref name="region"/> and <paramref name="accessKeys"/> (ordinal keys); or why not.</summary>
    internal (AccessKeyRecord? Key, IdentityResult Failure) Authenticate(SignedHttpRequest request, string region, FrozenDictionary<string, AccessKeyRecord> accessKeys)
    {
        var decoded = ArrayPool<char>.Shared.Rent(Math.Max(1, request.RawPath.Length));
        try
        {
            return Authenticate(request, region, accessKeys, decoded);
        }
        finally
        {
            // Decoded query values include a presigned URL's session token: do not leave it in a pooled array.
            ArrayPool<char>.Shared.Return(decoded, clearArray: true);
        }
    }

    private (AccessKeyRecord? Key, IdentityResult Failure) Authenticate(SignedHttpRequest request, string region, FrozenDictionary<string, AccessKeyRecord> accessKeys, char[] decoded)
    {
        if (!SigV4Claim.TryRead(request, decoded, out var claim, out var failure))
        {
            return (null, failure);
        }

        if (ScopeProblem(ref claim, region) is { } problem)
        {
            return (null, IdentityResult.Fail(IdentityFailure.Malformed, problem, claim.AccessKeyId.ToString()));
        }

        if (!accessKeys.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(claim.AccessKeyId, out var key))
        {
            var id = claim.AccessKeyId.ToString();
            return (null, IdentityResult.Fail(IdentityFailure.Unregistered, $"access key {SigV4Claim.Shorten(id)} is not registered", id));
        }

        var now = time.GetUtcNow().UtcDateTime;
        var refusal = SessionProblem(key, ref claim, now) ?? TimeProblem(key, ref claim, now) ?? SignatureProblem(request, key, ref claim);
        return refusal is { } refused ? (null, refused) : (key, default);
    }

    private string? ScopeProblem(ref SigV4Claim claim, string region)
    {
        if (!claim.ScopeDate.SequenceEqual(claim.AmzDate[..8]))
        {
            return $"the credential is dated {claim.ScopeDate}, but the request's {claim.DateSource} is {claim.AmzDate}: they must be the same day";
        }

        if (!claim.Region.SequenceEqual(region))
        {
            return $"the credential is scoped to region {SigV4Claim.Shorten(claim.Region)}, but this account's region is {region}";
        }

        if (!services.Contains(claim.Service))
        {
            return $"the credential is scoped to service {SigV4Claim.Shorten(claim.Service)}, which is not accepted here ({serviceList})";
        }

        var most = (long)options.MaxPresignedExpiry.TotalSeconds;
        return claim.ExpiresSeconds is { } expires && (expires < 1 || expires > most)
            ? $"X-Amz-Expires {expires} must be from 1 to {most} seconds"
            : null;
    }

    /// <summary>A temporary key needs its own session token and must not have expired; a long-term key takes no token (AWS: the security token is invalid).</summary>
    private static IdentityResult? SessionProblem(AccessKeyRecord key, ref SigV4Claim claim, DateTime now)
    {
        var tokenName = claim.Presigned ? "X-Amz-Security-Token" : "x-amz-security-token";
        if (key.SessionToken is not { } token)
        {
            return claim.HasSecurityToken
                ? IdentityResult.Fail(IdentityFailure.Malformed, $"access key {key.Id} is a long-term key, but the request carries a session token ({tokenName}); AWS refuses that too", key.Id)
                : null;
        }

        if (key.Expiration is { } expiration && now >= expiration.UtcDateTime)
        {
            return IdentityResult.Fail(IdentityFailure.Expired, $"access key {key.Id} is a session of role {key.Owner.Name} that expired at {FormatTime(expiration.UtcDateTime)}", key.Id);
        }

        if (!claim.HasSecurityToken)
        {
            return IdentityResult.Fail(IdentityFailure.Malformed, $"access key {key.Id} is temporary (a session of role {key.Owner.Name}): the request must carry its session token ({tokenName})", key.Id);
        }

        return SameToken(claim.SecurityToken, token) ? null : IdentityResult.Fail(IdentityFailure.Malformed, $"the session token ({tokenName}) is not access key {key.Id}'s", key.Id);
    }

    private IdentityResult? TimeProblem(AccessKeyRecord key, ref SigV4Claim claim, DateTime now)
    {
        var skew = options.MaxClockSkew;
        if (claim.Date > now + skew)
        {
            return IdentityResult.Fail(IdentityFailure.NotYetValid,
                $"the request is dated {claim.AmzDate} ({claim.DateSource}), more than {Describe(skew)} after this server's clock ({FormatTime(now)})", key.Id);
        }

        if (claim.ExpiresSeconds is { } expires)
        {
            var end = claim.Date.AddSeconds(expires);
            return now > end
                ? IdentityResult.Fail(IdentityFailure.Expired,
                    $"the presigned URL expired at {FormatTime(end)} (X-Amz-Date {claim.AmzDate} plus X-Amz-Expires {expires} seconds); this server's clock says {FormatTime(now)}", key.Id)
                : null;
        }

        return claim.Date < now - skew
            ? IdentityResult.Fail(IdentityFailure.Expired,
                $"the request is dated {claim.AmzDate} ({claim.DateSource}), more than {Describe(skew)} before this server's clock ({FormatTime(now)})", key.Id)
            : null;
    }

    /// <summary>
    /// Rebuilds the canonical request and compares signatures. A presigned URL with a session token is
    /// tried with the token left out of the canonical query (AWS IoT's rule: the token is appended after
    /// signing) and then with it in (every other service's, and generic presigners'); without an
    /// <c>x-amz-content-sha256</c> header and with an empty body it is tried with the empty body's hash
    /// and then <c>UNSIGNED-PAYLOAD</c>, which sign the same nothing. Neither choice weakens anything:
    /// the token must still be the key's own, and no byte of a body goes unsigned.
    /// </summary>
    private IdentityResult? SignatureProblem(SignedHttpRequest request, AccessKeyRecord key, ref SigV4Claim claim)
    {
        var forwarded = request.Body is not null;
        var body = forwarded ? request.Body!.Value.Span : default;
        if (BodyProblem(request, body.Length, forwarded) is { } bodyProblem)
        {
            return IdentityResult.Fail(IdentityFailure.Malformed, bodyProblem, key.Id);
        }

        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(body, digest);
        Span<byte> payload = stackalloc byte[64];
        Utf8Buffer.Hex(digest, payload);
        var tryUnsigned = claim.Presigned && body.IsEmpty;
        switch (SigV4Claim.SingleHeader(request, "x-amz-content-sha256", out var declared))
        {
            case > 1:
                return IdentityResult.Fail(IdentityFailure.Malformed, "the request has several x-amz-content-sha256 headers", key.Id);
            case 1:
                if (DeclaredPayloadProblem(declared, payload, body.Length, forwarded) is { } declaredProblem)
                {
                    return IdentityResult.Fail(IdentityFailure.Malformed, declaredProblem, key.Id);
                }

                // Signers put the header's own text in the canonical request.
                payload = payload[..Encoding.ASCII.GetBytes(declared, payload)];
                tryUnsigned = false;
                break;
        }

        var parts = new Utf8Buffer(1024);
        var scratch = new Utf8Buffer(1024);
        try
        {
            return Compare(request, key, ref claim, payload, tryUnsigned, forwarded, ref parts, ref scratch);
        }
        finally
        {
            parts.Dispose();
            scratch.Dispose();
        }
    }

    private IdentityResult? Compare(SignedHttpRequest request, AccessKeyRecord key, ref SigV4Claim claim, scoped ReadOnlySpan<byte> payload, bool tryUnsigned, bool forwarded,
        ref Utf8Buffer parts, ref Utf8Buffer scratch)
    {
        CanonicalRequest.AddMethodAndPath(ref parts, request.Method, claim.Path);
        var head = parts.Length;
        var queryForms = claim.Presigned && claim.HasSecurityToken ? 2 : 1;
        Span<Range> queries = stackalloc Range[2];
        for (var form = 0; form < queryForms; form++)
        {
            var start = parts.Length;
            if (CanonicalRequest.AddQuery(ref parts, claim.Query, claim.Presigned, omitToken: queryForms == 2 && form == 0) is { } queryProblem)
            {
                return IdentityResult.Fail(IdentityFailure.Malformed, queryProblem, key.Id);
            }

            queries[form] = new Range(start, parts.Length);
        }

        var tailStart = parts.Length;
        parts.Add((byte)'\n');
        if (CanonicalRequest.AddHeaders(ref parts, request, claim.SignedHeaders) is { } headerProblem)
        {
            return IdentityResult.Fail(IdentityFailure.Malformed, headerProblem, key.Id);
        }

        var tail = new Range(tailStart, parts.Length);
        Span<byte> expected = stackalloc byte[32];
        Convert.FromHexString(claim.Signature, expected, out _, out _);
        var signingKey = signingKeys.KeyFor(key.Secret, claim.ScopeDate, claim.Region, claim.Service);
        Span<byte> digest = stackalloc byte[32];
        Span<byte> first = stackalloc byte[32];
        Span<byte> mac = stackalloc byte[32];
        for (var form = 0; form < queryForms; form++)
        {
            for (var unsigned = 0; unsigned < (tryUnsigned ? 2 : 1); unsigned++)
            {
                scratch.Truncate(0);
                scratch.Add(parts.Slice(0, head));
                scratch.Add(parts.Written[queries[form]]);
                scratch.Add(parts.Written[tail]);
                scratch.Add(unsigned == 0 ? payload : "UNSIGNED-PAYLOAD"u8);
                SHA256.HashData(scratch.Written, digest);
                if (form == 0 && unsigned == 0)
                {
                    digest.CopyTo(first);
                }

                scratch.Truncate(0);
                AddStringToSign(ref scratch, ref claim, digest);
                HMACSHA256.HashData(signingKey, scratch.Written, mac);
                if (CryptographicOperations.FixedTimeEquals(mac, expected))
                {
                    return null;
                }
            }
        }

        var hint = forwarded || request.Method is "GET" or "HEAD" ? "" : "; the proxy passed on no body, so it was taken as empty";
        return IdentityResult.Fail(IdentityFailure.Malformed,
            $"the signature does not match the request: the secret key differs, or the request changed after it was signed (string to sign: \"{SigV4Claim.Algorithm}\\n{claim.AmzDate}\\n{claim.Scope}\\n{Convert.ToHexStringLower(first)}\"{hint})",
            key.Id);
    }

    /// <summary>A body the signature covers but the proxy did not pass on, whole.</summary>
    private static string? BodyProblem(SignedHttpRequest request, int bodyLength, bool forwarded)
    {
        long? contentLength = SigV4Claim.SingleHeader(request, "content-length", out var text) == 1
            && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var length) ? length : null;
        if (!forwarded && (contentLength > 0 || SigV4Claim.SingleHeader(request, "transfer-encoding", out _) > 0))
        {
            return $"the request has a body ({(contentLength is { } n ? $"content-length {n}" : "transfer-encoding")}) that the proxy did not pass on, and the signature covers it (Envoy: with_request_body, pack_as_bytes: true, allow_partial_message: false)";
        }

        return forwarded && bodyLength < contentLength
            ? $"the proxy passed on {bodyLength} of the body's {contentLength} bytes, and the signature covers all of them (Envoy: raise with_request_body.max_request_bytes, allow_partial_message: false)"
            : null;
    }

    /// <summary>
    /// <c>x-amz-content-sha256</c> must be the body's SHA-256, or <c>UNSIGNED-PAYLOAD</c> for an empty
    /// body: only S3 lets a body go unsigned, and only S3 has chunked (<c>STREAMING-…</c>) signing.
    /// </summary>
    private static string? DeclaredPayloadProblem(ReadOnlySpan<char> declared, ReadOnlySpan<byte> bodyHex, int bodyLength, bool forwarded)
    {
        if (declared is "UNSIGNED-PAYLOAD")
        {
            return bodyLength == 0 ? null : $"x-amz-content-sha256: UNSIGNED-PAYLOAD would leave the {bodyLength}-byte body unsigned; only S3 accepts that";
        }

        if (declared.StartsWith("STREAMING-"))
        {
            return $"x-amz-content-sha256: {SigV4Claim.Shorten(declared)} is S3's chunked signing, which is not supported here";
        }

        if (declared.Length != 64 || !Ascii.EqualsIgnoreCase(declared, bodyHex))
        {
            return declared.Length == 64 && !declared.ContainsAnyExcept(SigV4Claim.HexDigits)
                ? $"x-amz-content-sha256 {declared} is not the SHA-256 of the body ({Encoding.ASCII.GetString(bodyHex)}){(forwarded ? "" : "; the proxy passed on no body, so it was taken as empty")}"
                : $"x-amz-content-sha256 '{SigV4Claim.Shorten(declared)}' is neither a hex SHA-256 nor UNSIGNED-PAYLOAD";
        }

        return null;
    }

    /// <summary><c>AWS4-HMAC-SHA256\n{date}\n{scope}\n{hex SHA-256 of the canonical request}</c>.</summary>
    private static void AddStringToSign(ref Utf8Buffer buffer, ref SigV4Claim claim, scoped ReadOnlySpan<byte> digest)
    {
        buffer.Add("AWS4-HMAC-SHA256\n"u8);
        buffer.AddUtf8(claim.AmzDate);
        buffer.Add((byte)'\n');
        buffer.AddUtf8(claim.Scope);
        buffer.Add((byte)'\n');
        buffer.AddHex(digest);
    }

    /// <summary>Compares SHA-256s rather than the tokens, so the time taken tells nothing of either, length included.</summary>
    private static bool SameToken(ReadOnlySpan<char> presented, string expected)
    {
        Span<byte> left = stackalloc byte[32];
        Span<byte> right = stackalloc byte[32];
        Sha256(presented, left);
        Sha256(expected, right);
        return CryptographicOperations.FixedTimeEquals(left, right);
    }

    private static void Sha256(ReadOnlySpan<char> text, Span<byte> destination)
    {
        var rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(text.Length));
        try
        {
            SHA256.HashData(rented.AsSpan(0, Encoding.UTF8.GetBytes(text, rented)), destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static string FormatTime(DateTime time) => SigV4Claim.FormatAmzDate(time);

    private static string Describe(TimeSpan span) =>
        span.Ticks % TimeSpan.TicksPerMinute == 0 && span >= TimeSpan.FromMinutes(1)
            ? $"{(long)span.TotalMinutes} minute{(span == TimeSpan.FromMinutes(1) ? "" : "s")}"
            : $"{span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} seconds";
}
