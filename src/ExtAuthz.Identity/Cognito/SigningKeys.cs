using System.Buffers.Text;
using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace ExtAuthz.Identity.Cognito;

/// <summary>One public signing key of a JWKS, imported: its <c>kid</c>, type, curve and the algorithm it is pinned to (if the JWKS says).</summary>
internal sealed record SigningKey(string? Kid, string Kty, string? Curve, string? Algorithm, SecurityKey Key)
{
    public string Describe() => Kty == "EC" ? $"an EC {Curve} key" : "an RSA key";

    /// <summary>Why this key cannot check a signature made with <paramref name="alg"/>, or null when it can.</summary>
    public string? Unfit(string alg)
    {
        if (Algorithm is not null && Algorithm != alg)
        {
            return $"key {Kid ?? "(no kid)"} is for {Algorithm}, not {alg}";
        }

        var needs = alg switch
        {
            "ES256" => ("EC", "P-256"),
            "ES384" => ("EC", "P-384"),
            "ES512" => ("EC", "P-521"),
            _ => ("RSA", (string?)null),
        };
        return Kty == needs.Item1 && (needs.Item2 is null || Curve == needs.Item2)
            ? null
            : $"key {Kid ?? "(no kid)"} is {Describe()}, and {alg} needs {(needs.Item2 is null ? "an RSA key" : $"an EC {needs.Item2} key")}";
    }
}

/// <summary>
/// The usable signing keys of a JWKS document: RSA and EC public keys meant for signatures, imported
/// once. Symmetric (<c>oct</c>) keys are left out on purpose: a JWKS is public, so an HMAC key in it
/// would let anyone sign. Immutable; a refreshed JWKS is a new instance, which is how cached
/// verifications notice that the keys changed.
/// </summary>
internal sealed class SigningKeys
{
    /// <summary>RSA keys shorter than 2048 bits are left out: factoring them is within reach, and no current issuer publishes one.</summary>
    private const int MinRsaModulusBytes = 2048 / 8;

    /// <summary>The largest JWKS or discovery document accepted (real ones are a few kilobytes).</summary>
    public const int MaxDocumentBytes = 1024 * 1024;

    private readonly FrozenDictionary<string, SigningKey[]> byKid;

    private SigningKeys(IReadOnlyList<SigningKey> keys)
    {
        All = keys;
        byKid = keys.Where(k => k.Kid is not null).GroupBy(k => k.Kid!, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
    }

    public IReadOnlyList<SigningKey> All { get; }

    public int Count => All.Count;

    /// <summary>The keys named <paramref name="kid"/>; every key when the token names none.</summary>
    public IReadOnlyList<SigningKey> Named(string? kid) =>
        kid is null ? All : byKid.TryGetValue(kid, out var keys) ? keys : [];

    /// <summary>Parses a JWKS; on failure <paramref name="error"/> says why and the result is null.</summary>
    public static SigningKeys? Parse(string json, out string? error)
    {
        JsonWebKeySet set;
        try
        {
            set = new JsonWebKeySet(json);
        }
        catch (Exception ex) when (ex is ArgumentException or JsonException or FormatException or InvalidOperationException)
        {
            error = "not a JWKS document (a JSON object with a \"keys\" list)";
            return null;
        }

        var keys = new List<SigningKey>();
        var skipped = new List<string>();
        foreach (var jwk in set.Keys)
        {
            if (jwk.Use is { } use && use != "sig")
            {
                continue;
            }

            if (Import(jwk) is { } key)
            {
                keys.Add(key);
            }
            else
            {
                skipped.Add(jwk.Kid ?? jwk.Kty ?? "(a key without kid)");
            }
        }

        if (keys.Count == 0)
        {
            error = skipped.Count == 0
                ? "the JWKS holds no signing keys"
                : $"the JWKS holds no usable RSA or EC signing key (left out: {string.Join(", ", skipped)})";
            return null;
        }

        error = null;
        return new SigningKeys(keys);
    }

    private static SigningKey? Import(JsonWebKey jwk)
    {
        try
        {
            switch (jwk.Kty)
            {
                case "RSA" when Decode(jwk.N) is { Length: >= MinRsaModulusBytes } modulus && Decode(jwk.E) is { Length: > 0 } exponent:
                    var rsa = RSA.Create(new RSAParameters { Modulus = modulus, Exponent = exponent });
                    return new SigningKey(jwk.Kid, "RSA", null, jwk.Alg, new RsaSecurityKey(rsa) { KeyId = jwk.Kid });
                case "EC" when CurveOf(jwk.Crv) is { } curve && Decode(jwk.X) is { } x && Decode(jwk.Y) is { } y:
                    var ecdsa = ECDsa.Create(new ECParameters { Curve = curve, Q = new ECPoint { X = x, Y = y } });
                    return new SigningKey(jwk.Kid, "EC", jwk.Crv, jwk.Alg, new ECDsaSecurityKey(ecdsa) { KeyId = jwk.Kid });
                default:
                    return null;
            }
        }
        catch (CryptographicException)
        {
            // Parameters the platform refuses (a point off the curve, a malformed modulus): not a key.
            return null;
        }
    }

    private static ECCurve? CurveOf(string? crv) => crv switch
    {
        "P-256" => ECCurve.NamedCurves.nistP256,
        "P-384" => ECCurve.NamedCurves.nistP384,
        "P-521" => ECCurve.NamedCurves.nistP521,
        _ => null,
    };

    private static byte[]? Decode(string? base64Url)
    {
        if (string.IsNullOrEmpty(base64Url))
        {
            return null;
        }

        try
        {
            return Base64Url.DecodeFromChars(base64Url);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
