using System.Collections.Frozen;
using ExtAuthz.Registry;
using Microsoft.Extensions.Logging;

namespace ExtAuthz.Identity.Cognito;

/// <summary>
/// Whom a token may come from, as the registry configures it: a Cognito identity pool (its issuer;
/// the pool ID as audience) or an IAM OpenID Connect provider (its URL as issuer; one of its client IDs
/// as audience). Keys come from the configured JWKS file (imported here, once per snapshot), else from
/// the JWKS URL, else from the issuer's discovery document.
/// </summary>
internal sealed class TokenAuthority
{
    private TokenAuthority(string name, string issuer, IReadOnlyList<string> audiences, string? jwksJson, string? jwksUrl, ConfigSource source, ILogger logger)
    {
        Name = name;
        Issuer = issuer;
        Audiences = audiences;
        if (jwksJson is not null)
        {
            InlineKeys = SigningKeys.Parse(jwksJson, out var error);
            InlineError = error;
            if (error is not null)
            {
                CognitoLog.InlineKeysUnusable(logger, name, source.ToString(), error);
            }
        }
        else
        {
            (RemoteUrl, Discovery) = jwksUrl is not null ? (jwksUrl, false) : (issuer.TrimEnd('/') + "/.well-known/openid-configuration", true);
        }
    }

    /// <summary>How reasons name it: <c>identity pool us-east-1:…</c> or <c>OpenID Connect provider https://…</c>.</summary>
    public string Name { get; }

    public string Issuer { get; }

    /// <summary>The <c>aud</c> values its tokens may carry.</summary>
    public IReadOnlyList<string> Audiences { get; }

    public CognitoIdentityPool? Pool { get; private init; }

    public OidcProvider? Provider { get; private init; }

    /// <summary>The keys of its <c>jwksFile</c>, when it has one and the file is usable.</summary>
    public SigningKeys? InlineKeys { get; }

    /// <summary>Why its <c>jwksFile</c> is unusable.</summary>
    public string? InlineError { get; }

    /// <summary>Where its keys are fetched from when it has no <c>jwksFile</c>: the JWKS URL, or the discovery document's.</summary>
    public string? RemoteUrl { get; }

    /// <summary>Whether <see cref="RemoteUrl"/> is a discovery document rather than a JWKS.</summary>
    public bool Discovery { get; }

    public static TokenAuthority ForPool(CognitoIdentityPool pool, ILogger logger) =>
        new($"identity pool {pool.Id}", pool.Issuer, [pool.Id], pool.JwksJson, pool.JwksUrl, pool.Source, logger) { Pool = pool };

    public static TokenAuthority ForProvider(OidcProvider provider, ILogger logger) =>
        new($"OpenID Connect provider {provider.Url}", provider.Url, provider.ClientIds, provider.JwksJson, provider.JwksUrl, provider.Source, logger) { Provider = provider };
}

/// <summary>
/// What verifiers keep per registry snapshot (in <see cref="RegistrySnapshot.GetOrAddExtension{T}"/>,
/// so a reload starts afresh): the pools and providers as token authorities, their JWKS files imported.
/// Shared by every verifier of the snapshot; each verifier's own verified tokens are kept apart (its
/// options, such as the cache's capacity, are its own).
/// </summary>
internal sealed class SnapshotAuthorities
{
    private SnapshotAuthorities(RegistrySnapshot snapshot, ILogger logger)
    {
        Pools = snapshot.CognitoPools.ToFrozenDictionary(p => p.Key, p => TokenAuthority.ForPool(p.Value, logger), StringComparer.Ordinal);
        Providers = snapshot.OidcProviders.ToFrozenDictionary(p => p.Key, p => TokenAuthority.ForProvider(p.Value, logger), StringComparer.Ordinal);
    }

    /// <summary>Identity pools by ID.</summary>
    public FrozenDictionary<string, TokenAuthority> Pools { get; }

    /// <summary>OpenID Connect providers by URL.</summary>
    public FrozenDictionary<string, TokenAuthority> Providers { get; }

    /// <summary>What builds a snapshot's authorities; a verifier makes it once, so that finding them costs no allocation per token.</summary>
    public static Func<RegistrySnapshot, SnapshotAuthorities> Factory(ILogger logger) =>
        snapshot => new SnapshotAuthorities(snapshot, logger);
}
