using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;
using ExtAuthz.Policy;
using ExtAuthz.Registry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ExtAuthz.Identity.Cognito;

/// <summary>
/// Bearer tokens (JWS compact serialization) to principals, in two kinds:
/// <list type="bullet">
/// <item>Cognito Identity's OpenID tokens: the audience (<c>aud</c>) names a configured identity pool, the
/// issuer (<c>iss</c>) is that pool's, the subject (<c>sub</c>) is the identity ID (region:uuid, in the
/// pool's region), and <c>amr</c> says <c>authenticated</c> or <c>unauthenticated</c>. The principal is the
/// Cognito identity, with the pool's role and, when authenticated, the IoT policies attached to it
/// (<see cref="PrincipalResolver.ForCognito"/>).</item>
/// <item>Web identities of an IAM OpenID Connect provider: the issuer is a configured provider, the
/// audience one of its client IDs, and exactly one IAM role's <c>webIdentity</c> trust admits the token's
/// claims, as AssumeRoleWithWebIdentity would. The principal is that role.</item>
/// </list>
/// The signature is checked with Microsoft.IdentityModel against keys from the pool's or provider's
/// JWKS file, or fetched (and cached across snapshots) from its JWKS URL or discovery document. Verify
/// never waits for the network: keys not fetched yet, or a key ID not among them, start a background
/// fetch and refuse the token now with a reason saying so. Algorithms come from an allow-list of
/// asymmetric ones; lifetimes are checked with a bounded clock skew. Bad input of any kind is a refusal
/// with a precise reason, never an exception.
/// </summary>
public sealed partial class CognitoTokenVerifier : IDisposable
{
    /// <summary>The longest token accepted (Cognito's are about a kilobyte; OIDC tokens with many claims a few).</summary>
    public const int MaxTokenLength = 16 * 1024;

    /// <summary>The condition-key prefix of Cognito identities' claims.</summary>
    private const string CognitoKeys = "cognito-identity.amazonaws.com";

    private readonly CognitoVerifierOptions options;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly RemoteKeyCache remote;
    private readonly JsonWebTokenHandler handler = new();
    private readonly Func<RegistrySnapshot, SnapshotAuthorities> authorities;

    /// <summary>This verifier's verified tokens per snapshot, dropped with the snapshot's authorities.</summary>
    private readonly ConditionalWeakTable<SnapshotAuthorities, VerifiedTokenCache> verifiedTokens = new();
    private readonly ConditionalWeakTable<SnapshotAuthorities, VerifiedTokenCache>.CreateValueCallback newTokenCache;
    private int disposed;

    public CognitoTokenVerifier(CognitoVerifierOptions? options = null, TimeProvider? time = null, ILogger? logger = null)
    {
        this.options = options ?? new CognitoVerifierOptions();
        this.options.Validate();
        this.time = time ?? TimeProvider.System;
        this.logger = logger ?? NullLogger.Instance;
        remote = new RemoteKeyCache(this.options, this.time, this.logger);
        authorities = SnapshotAuthorities.Factory(this.logger);
        var capacity = this.options.TokenCacheCapacity;
        newTokenCache = _ => new VerifiedTokenCache(capacity);
    }

    [GeneratedRegex(@"^[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    private static partial Regex IdentityId();

    /// <summary>
    /// Whether <paramref name="value"/> has the shape of a signed JWT: three base64url parts separated by
    /// dots, the header and payload not empty, the header starting with <c>e</c> (every JOSE header is a
    /// JSON object, and <c>{</c> always encodes to a first character <c>e</c>). Says nothing about validity;
    /// a transport uses it to tell a JWT from other bearer credentials.
    /// </summary>
    public static bool LooksLikeJwt(string value)
    {
        if (string.IsNullOrEmpty(value) || value[0] != 'e')
        {
            return false;
        }

        var dots = 0;
        var length = 0;
        foreach (var c in value)
        {
            if (c == '.')
            {
                if (length == 0 || ++dots > 2)
                {
                    return false;
                }

                length = 0;
            }
            else if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            {
                length++;
            }
            else
            {
                return false;
            }
        }

        // The signature may be empty: an unsigned token is still a JWT, refused by Verify with its own reason.
        return dots == 2;
    }

    /// <summary>
    /// The principal a bearer token stands for (the token alone, without the <c>Bearer </c> scheme), or
    /// why it is refused. Never blocks on the network.
    /// </summary>
    public IdentityResult Verify(RegistrySnapshot snapshot, string token, ConnectionFacts facts)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(facts);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        if (string.IsNullOrEmpty(token))
        {
            return IdentityResult.Fail(IdentityFailure.Missing, "no bearer token was presented");
        }

        if (token.Length > MaxTokenLength)
        {
            return IdentityResult.Fail(IdentityFailure.Malformed, $"the bearer token is {token.Length} characters long; at most {MaxTokenLength} are accepted");
        }

        if (!LooksLikeJwt(token))
        {
            return IdentityResult.Fail(IdentityFailure.Malformed, "the bearer token is not a JWT (three base64url parts separated by dots)");
        }

        var state = snapshot.GetOrAddExtension(authorities);
        var tokens = verifiedTokens.GetValue(state, newTokenCache);
        var now = time.GetUtcNow();
        var fresh = !TryCached(tokens, token, out var verified);
        if (fresh && VerifyNew(state, token, out verified) is { } refused)
        {
            return refused;
        }

        var claims = verified.Claims;
        if (OutsideLifetime(claims, now) is { } invalid)
        {
            return invalid;
        }

        if (fresh)
        {
            tokens.Add(token, verified, now, options.ClockSkew);
        }

        return verified.Authority.Pool is { } pool
            ? CognitoIdentity(snapshot, pool, claims, facts)
            : WebIdentity(snapshot, verified.Authority.Provider!, claims, facts);
    }

    /// <summary>
    /// Fetches, in the background, the keys of every pool and provider of <paramref name="snapshot"/> that
    /// has no JWKS file and whose keys are missing or due for refresh, and completes when those fetches
    /// have finished, successfully or not (the log says which). For the host to call at startup and when
    /// the snapshot changes, so that first tokens need not be refused while keys are fetched; never throws
    /// for a fetch that fails.
    /// </summary>
    public Task WarmUpAsync(RegistrySnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        var state = snapshot.GetOrAddExtension(authorities);
        var entries = state.Pools.Values.Concat(state.Providers.Values)
            .Where(a => a.RemoteUrl is not null)
            .Select(a => remote.For(a.RemoteUrl!, a.Discovery, a.Issuer))
            .Distinct()
            .ToArray();
        foreach (var entry in entries)
        {
            if (entry.State.Keys is null || remote.IsStale(entry.State))
            {
                remote.Refresh(entry);
            }
        }

        return Task.WhenAll(entries.Select(RemoteKeyCache.WhenFetched));
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            remote.Dispose();
        }
    }

    /// <summary>How many tokens this verifier holds as verified against <paramref name="snapshot"/> (its cache's fill).</summary>
    internal int VerifiedTokenCount(RegistrySnapshot snapshot) =>
        verifiedTokens.GetValue(snapshot.GetOrAddExtension(authorities), newTokenCache).Count;

    /// <summary>A token verified before against this snapshot, by this verifier, with keys that are still the current ones.</summary>
    private bool TryCached(VerifiedTokenCache tokens, string token, out VerifiedToken verified)
    {
        if (!tokens.TryGet(token, out verified))
        {
            return false;
        }

        var authority = verified.Authority;
        if (authority.InlineKeys is not null)
        {
            return true;
        }

        var entry = remote.For(authority.RemoteUrl!, authority.Discovery, authority.Issuer);
        var current = entry.State;
        if (remote.IsStale(current))
        {
            remote.Refresh(entry);
        }

        return ReferenceEquals(current.Keys, verified.Keys);
    }

    /// <summary>Parses the token, finds its authority and key, and checks its signature; null on success.</summary>
    private IdentityResult? VerifyNew(SnapshotAuthorities state, string token, out VerifiedToken verified)
    {
        verified = null!;
        JsonWebToken jwt;
        TokenClaims claims;
        try
        {
            jwt = new JsonWebToken(token);
            if (Refusal(jwt, out claims) is { } refusal)
            {
                return IdentityResult.Fail(IdentityFailure.Malformed, refusal);
            }
        }
        catch (ArgumentException)
        {
            return IdentityResult.Fail(IdentityFailure.Malformed,
                "the bearer token's header or payload is not base64url-encoded JSON, or a registered claim (iss, aud, exp, nbf, …) has the wrong type");
        }
        catch (InvalidOperationException ex)
        {
            // JsonWebToken reads claims lazily: a string claim that is not UTF-8 throws only when it is read.
            return IdentityResult.Fail(IdentityFailure.Malformed, $"the bearer token's header or payload could not be read: {(ex.InnerException ?? ex).Message}");
        }

        if (Route(state, claims, out var authority) is { } unrouted)
        {
            return unrouted;
        }

        if (Candidates(authority, claims, out var keys, out var candidates) is { } keyless)
        {
            return keyless;
        }

        if (Signature(jwt, authority, claims, candidates) is { } forged)
        {
            return forged;
        }

        verified = new VerifiedToken(claims, authority, keys);
        return null;
    }

    /// <summary>Why the token's header or claims are refused before any key is looked for, or null with <paramref name="claims"/> read.</summary>
    private string? Refusal(JsonWebToken jwt, out TokenClaims claims)
    {
        claims = null!;
        if (AlgorithmRefusal(jwt.Alg) is { } refusal)
        {
            return refusal;
        }

        if (jwt.TryGetHeaderValue<string>("crit", out _))
        {
            return "the token's header lists critical extensions (crit), which this verifier does not implement";
        }

        if (!jwt.TryGetPayloadValue<string[]>("amr", out var amr) && jwt.TryGetPayloadValue<object>("amr", out _))
        {
            return "the token's amr is not a list of strings";
        }

        claims = new TokenClaims(
            jwt.Alg,
            string.IsNullOrEmpty(jwt.Kid) ? null : jwt.Kid,
            string.IsNullOrEmpty(jwt.Issuer) ? null : jwt.Issuer,
            [.. jwt.Audiences],
            string.IsNullOrEmpty(jwt.Subject) ? null : jwt.Subject,
            amr,
            jwt.ValidTo == DateTime.MinValue ? null : new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero),
            jwt.ValidFrom == DateTime.MinValue ? null : new DateTimeOffset(jwt.ValidFrom, TimeSpan.Zero));
        return null;
    }

    private string? AlgorithmRefusal(string? alg)
    {
        if (string.IsNullOrEmpty(alg))
        {
            return "the token's header names no algorithm (alg)";
        }

        if (alg.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return "the token is unsigned (alg none)";
        }

        if (alg.StartsWith("HS", StringComparison.OrdinalIgnoreCase))
        {
            return $"the token's alg {Quote(alg)} is refused: HMAC needs a shared secret, and issuers' keys are public (an HMAC keyed with a public key is algorithm confusion)";
        }

        return options.Algorithms.Contains(alg)
            ? null
            : $"the token's alg {Quote(alg)} is not allowed (allowed: {string.Join(", ", options.Algorithms.Order(StringComparer.Ordinal))})";
    }

    /// <summary>
    /// The pool its audience names (and whose issuer it must carry), else the OpenID Connect provider its
    /// issuer names (whose client ID it must carry as audience).
    /// </summary>
    private static IdentityResult? Route(SnapshotAuthorities state, TokenClaims claims, out TokenAuthority authority)
    {
        authority = null!;
        var pools = claims.Audiences.Where(state.Pools.ContainsKey).Distinct(StringComparer.Ordinal).ToArray();
        if (pools.Length > 1)
        {
            return IdentityResult.Fail(IdentityFailure.Malformed, $"the token's audience names {pools.Length} identity pools ({string.Join(", ", pools)}); a Cognito token names one");
        }

        if (pools.Length == 1)
        {
            authority = state.Pools[pools[0]];
            return claims.Issuer == authority.Issuer
                ? null
                : IdentityResult.Fail(IdentityFailure.Unregistered, $"the token's issuer {Quote(claims.Issuer)} is not {authority.Name}'s issuer {authority.Issuer}");
        }

        if (claims.Issuer is { } issuer && state.Providers.TryGetValue(issuer, out var provider))
        {
            authority = provider;
            return claims.Audiences.Any(a => provider.Audiences.Contains(a, StringComparer.Ordinal))
                ? null
                : IdentityResult.Fail(IdentityFailure.Unregistered, $"the token's audience {Audience(claims)} is none of {provider.Name}'s client IDs");
        }

        return IdentityResult.Fail(IdentityFailure.Unregistered, claims.Audiences.Length == 0
            ? $"the token has no audience (aud), which names the identity pool, and its issuer {Quote(claims.Issuer)} is no configured OpenID Connect provider"
            : $"the token's audience {Audience(claims)} is no configured identity pool, and its issuer {Quote(claims.Issuer)} no configured OpenID Connect provider");
    }

    /// <summary>The authority's keys that may have signed the token: named by its kid and fit for its alg.</summary>
    private IdentityResult? Candidates(TokenAuthority authority, TokenClaims claims, out SigningKeys keys, out SecurityKey[] candidates)
    {
        candidates = [];
        RemoteKeyCache.Entry? entry = null;
        RemoteKeyCache.KeyState? fetched = null;
        if (authority.InlineKeys is { } inline)
        {
            keys = inline;
        }
        else if (authority.InlineError is { } error)
        {
            keys = null!;
            return IdentityResult.Fail(IdentityFailure.Unregistered, $"the jwksFile of {authority.Name} is unusable ({error}), so its tokens cannot be verified");
        }
        else
        {
            entry = remote.For(authority.RemoteUrl!, authority.Discovery, authority.Issuer);
            fetched = entry.State;
            if (fetched.Keys is null)
            {
                keys = null!;
                var fetching = remote.Refresh(entry);
                return IdentityResult.Fail(IdentityFailure.Unregistered, fetched.Error is null
                    ? $"keys for {authority.Issuer} are being fetched; retry"
                    : fetching
                        ? $"keys for {authority.Issuer} could not be fetched ({fetched.Error}); they are being fetched again; retry"
                        : $"keys for {authority.Issuer} could not be fetched ({fetched.Error}); the next attempt is after {remote.NextAttempt(entry):O}");
            }

            if (remote.IsStale(fetched))
            {
                remote.Refresh(entry);
            }

            keys = fetched.Keys;
        }

        var named = keys.Named(claims.Kid);
        if (named.Count == 0)
        {
            if (entry is null)
            {
                return IdentityResult.Fail(IdentityFailure.Unregistered, $"key {Quote(claims.Kid)} is not in the jwksFile of {authority.Name}");
            }

            var refreshing = remote.Refresh(entry);
            return IdentityResult.Fail(IdentityFailure.Unregistered,
                $"key {Quote(claims.Kid)} is not among the {keys.Count} keys of {authority.Issuer} fetched at {fetched!.FetchedAt:O}; " + (refreshing
                    ? "they are being fetched again; retry"
                    : $"they were fetched less than {options.MinRefreshGap.TotalSeconds:0} s ago, so the next refresh is after {remote.NextAttempt(entry):O}"));
        }

        candidates = named.Where(k => k.Unfit(claims.Alg) is null).Select(k => k.Key).ToArray();
        return candidates.Length > 0
            ? null
            : IdentityResult.Fail(IdentityFailure.Malformed, claims.Kid is null
                ? $"none of the keys of {authority.Issuer} fits the token's alg {claims.Alg}, and the token names no key (kid)"
                : $"the token's alg {claims.Alg} does not fit its key: {named[0].Unfit(claims.Alg)}");
    }

    private IdentityResult? Signature(JsonWebToken jwt, TokenAuthority authority, TokenClaims claims, SecurityKey[] candidates)
    {
        var parameters = new TokenValidationParameters
        {
            ValidIssuer = authority.Issuer,
            ValidAudiences = authority.Audiences,
            IssuerSigningKeys = candidates,
            TryAllIssuerSigningKeys = true,
            ValidAlgorithms = options.Algorithms,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = false,

            // Lifetimes are checked by the caller, on every use of a cached token too, with the verifier's clock.
            ValidateLifetime = false,
            RequireExpirationTime = false,
        };

        // With the keys given here and no ConfigurationManager, validation is computation only: the task
        // has completed by the time it is returned, so this does not block.
        var result = handler.ValidateTokenAsync(jwt, parameters).GetAwaiter().GetResult();
        if (result.IsValid)
        {
            return null;
        }

        var key = claims.Kid is null ? "keys" : $"key {Quote(claims.Kid)}";
        return IdentityResult.Fail(IdentityFailure.Malformed, result.Exception is SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException
            ? $"the token's signature does not verify with {authority.Issuer}'s {key}: the token was altered, or signed by someone else"
            : $"the token was refused by the JWT validator ({result.Exception?.GetType().Name ?? "no reason given"})");
    }

    private IdentityResult? OutsideLifetime(TokenClaims claims, DateTimeOffset now)
    {
        var skew = options.ClockSkew;
        if (claims.Expires is not { } expires)
        {
            return IdentityResult.Fail(IdentityFailure.Malformed, "the token has no expiry (exp)", claims.Subject);
        }

        if (now > expires + skew)
        {
            return IdentityResult.Fail(IdentityFailure.Expired, $"the token expired at {expires:O} (clock skew allowed: {skew.TotalSeconds:0} s)", claims.Subject);
        }

        return claims.NotBefore is { } notBefore && now + skew < notBefore
            ? IdentityResult.Fail(IdentityFailure.NotYetValid, $"the token is not valid before {notBefore:O} (clock skew allowed: {skew.TotalSeconds:0} s)", claims.Subject)
            : null;
    }

    /// <summary>A Cognito identity: identity ID in the pool's region, authenticated or not by its amr.</summary>
    private static IdentityResult CognitoIdentity(RegistrySnapshot snapshot, CognitoIdentityPool pool, TokenClaims claims, ConnectionFacts facts)
    {
        if (claims.Subject is not { } identity)
        {
            return IdentityResult.Fail(IdentityFailure.Malformed, "the token has no subject (sub), which is the Cognito identity ID");
        }

        if (!IdentityId().IsMatch(identity))
        {
            return IdentityResult.Fail(IdentityFailure.Malformed, $"the token's subject {Quote(identity)} is not a Cognito identity ID (region:uuid)");
        }

        var region = identity[..identity.IndexOf(':', StringComparison.Ordinal)];
        var poolRegion = pool.Id[..pool.Id.IndexOf(':', StringComparison.Ordinal)];
        if (region != poolRegion)
        {
            return IdentityResult.Fail(IdentityFailure.Unregistered, $"identity {identity} is in {region}, and identity pool {pool.Id} in {poolRegion}", identity);
        }

        if (claims.Amr is not { Length: > 0 } amr)
        {
            return IdentityResult.Fail(IdentityFailure.Malformed, "the token has no authentication methods (amr), which say authenticated or unauthenticated", identity);
        }

        var authenticated = amr.Contains("authenticated", StringComparer.Ordinal);
        if (authenticated == amr.Contains("unauthenticated", StringComparer.Ordinal))
        {
            return IdentityResult.Fail(IdentityFailure.Malformed, authenticated
                ? "the token's amr says both authenticated and unauthenticated"
                : $"the token's amr [{string.Join(", ", amr.Select(Quote))}] says neither authenticated nor unauthenticated", identity);
        }

        var authentication = PrincipalResolver.ForCognito(snapshot, identity, pool.Id, authenticated, facts, amr);
        return new IdentityResult(authentication, authentication.Succeeded ? IdentityFailure.None : IdentityFailure.Unregistered, identity);
    }

    /// <summary>
    /// A web identity: the one IAM role whose trust admits the token's claims (<c>{provider}:sub</c>,
    /// <c>:aud</c>, <c>:amr</c>, and <c>aws:SourceIp</c>). Several roles admitting it is refused rather than
    /// resolved by order, since no caller names the role it wants as AssumeRoleWithWebIdentity's would.
    /// </summary>
    private static IdentityResult WebIdentity(RegistrySnapshot snapshot, OidcProvider provider, TokenClaims claims, ConnectionFacts facts)
    {
        if (claims.Subject is not { } subject)
        {
            return IdentityResult.Fail(IdentityFailure.Malformed, "the token has no subject (sub)");
        }

        var prefix = provider.KeyPrefix;
        var context = new RequestContext().Set($"{prefix}:sub", subject);
        if (claims.Audiences.Length == 1)
        {
            context.Set($"{prefix}:aud", claims.Audiences[0]);
        }
        else
        {
            context.Set($"{prefix}:aud", claims.Audiences);
        }

        if (claims.Amr is { } amr)
        {
            context.Set($"{prefix}:amr", amr);
        }

        if (facts.SourceIp is { } sourceIp)
        {
            context.Set("aws:SourceIp", sourceIp);
        }

        if (!snapshot.WebIdentityTrusts.TryGetValue(provider.Url, out var trusts))
        {
            return IdentityResult.Fail(IdentityFailure.Unregistered, $"no IAM role trusts OpenID Connect provider {provider.Url} (webIdentity)", subject);
        }

        var roles = trusts.Where(t => t.Admits(context)).Select(t => t.Role).Distinct().ToArray();
        return roles.Length switch
        {
            0 => IdentityResult.Fail(IdentityFailure.Unregistered,
                $"no IAM role's trust admits subject {Quote(subject)} of {provider.Url}: the webIdentity conditions of {string.Join(", ", trusts.Select(t => t.Role.Name).Distinct())} do not hold", subject),
            1 => new IdentityResult(PrincipalResolver.ForIam(snapshot, roles[0], facts), IdentityFailure.None, subject),
            _ => IdentityResult.Fail(IdentityFailure.Unregistered,
                $"the trust of several IAM roles ({string.Join(", ", roles.Select(r => r.Name))}) admits subject {Quote(subject)} of {provider.Url}; their webIdentity conditions must single out one", subject),
        };
    }

    private static string Audience(TokenClaims claims) =>
        claims.Audiences.Length == 1 ? Quote(claims.Audiences[0]) : $"[{string.Join(", ", claims.Audiences.Select(Quote))}]";

    /// <summary>A value taken from the token, for a reason: at most 80 characters, control characters replaced, so a client cannot flood or forge log lines.</summary>
    private static string Quote(string? value)
    {
        if (value is null)
        {
            return "(none)";
        }

        var text = new StringBuilder(Math.Min(value.Length, 81));
        foreach (var c in value.Length > 80 ? value[..80] : value)
        {
            text.Append(char.IsControl(c) ? '?' : c);
        }

        return value.Length > 80 ? text.Append('…').ToString() : text.ToString();
    }
}
