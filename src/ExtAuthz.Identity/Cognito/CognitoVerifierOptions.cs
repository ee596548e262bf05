using System.Collections.Frozen;

namespace ExtAuthz.Identity.Cognito;

/// <summary>
/// How <see cref="CognitoTokenVerifier"/> checks bearer tokens and fetches signing keys. The defaults
/// suit Cognito Identity's OpenID tokens and ordinary OIDC issuers.
/// </summary>
public sealed record CognitoVerifierOptions
{
    /// <summary>The most <see cref="ClockSkew"/> may be: a token's lifetime is a security boundary, not a suggestion.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Every algorithm the verifier can check: RSA (PKCS#1 v1.5 and PSS) and ECDSA over the NIST curves.
    /// Never <c>none</c>, and never HMAC: the keys come from a public JWKS, so an HMAC "signature" keyed
    /// with one of them is something anyone can compute.
    /// </summary>
    public static IReadOnlySet<string> SupportedAlgorithms { get; } = new[]
    {
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>
    /// How far a token's <c>exp</c> and <c>nbf</c> may be off from this clock: 60 seconds by default,
    /// which covers nodes kept in sync by NTP and adds little to a ten-minute Cognito token; at most
    /// <see cref="MaxClockSkew"/>.
    /// </summary>
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long one fetch of a discovery document or JWKS may take before it is abandoned (it runs in the background; Verify never waits for it).</summary>
    public TimeSpan FetchTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Keys fetched longer ago than this are fetched again, in the background, the next time they are used; until then the old ones keep serving.</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>The least time between two fetches from one URL, so tokens naming unknown key IDs cannot make the verifier hammer an issuer.</summary>
    public TimeSpan MinRefreshGap { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The HTTP handler keys are fetched through (tests serve JWKS from one); null: a handler of the verifier's own, disposed with it.</summary>
    public HttpMessageHandler? Handler { get; init; }

    /// <summary>The algorithms a token may be signed with; a subset of <see cref="SupportedAlgorithms"/>.</summary>
    public IReadOnlySet<string> Algorithms { get; init; } = SupportedAlgorithms;

    /// <summary>Verified tokens remembered per registry snapshot, so a token presented again costs no signature check.</summary>
    public int TokenCacheCapacity { get; init; } = 16_384;

    /// <summary>Throws when an option is out of range; the verifier calls it once, when it is created.</summary>
    internal void Validate()
    {
        if (ClockSkew < TimeSpan.Zero || ClockSkew > MaxClockSkew)
        {
            throw new ArgumentOutOfRangeException(nameof(ClockSkew), ClockSkew, $"the clock skew must be between 0 and {MaxClockSkew.TotalMinutes} minutes");
        }

        if (FetchTimeout <= TimeSpan.Zero || RefreshInterval <= TimeSpan.Zero || MinRefreshGap < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(FetchTimeout), "FetchTimeout and RefreshInterval must be positive, MinRefreshGap not negative");
        }

        if (TokenCacheCapacity < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(TokenCacheCapacity), TokenCacheCapacity, "the token cache capacity cannot be negative");
        }

        ArgumentNullException.ThrowIfNull(Algorithms);
        if (Algorithms.Count == 0)
        {
            throw new ArgumentException("at least one signing algorithm must be allowed", nameof(Algorithms));
        }

        foreach (var algorithm in Algorithms)
        {
            if (!SupportedAlgorithms.Contains(algorithm))
            {
                throw new ArgumentException(
                    $"algorithm '{algorithm}' cannot be allowed: only {string.Join(", ", SupportedAlgorithms)} are (never none, never HMAC, whose key would be the public JWKS)",
                    nameof(Algorithms));
            }
        }
    }
}
