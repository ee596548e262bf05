using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ExtAuthz.Registry;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ExtAuthz.Identity.Tests.Cognito;

/// <summary>A key pair generated for a test: what signs tokens, and its public half as a JWK.</summary>
internal sealed class TestKey
{
    private TestKey(string? kid, string alg, AsymmetricAlgorithm key, SecurityKey securityKey, Dictionary<string, string> jwk)
    {
        Kid = kid;
        Alg = alg;
        Key = key;
        SecurityKey = securityKey;
        Jwk = jwk;
    }

    public string? Kid { get; }

    /// <summary>The algorithm this key signs with unless a test says otherwise.</summary>
    public string Alg { get; }

    public AsymmetricAlgorithm Key { get; }

    public SecurityKey SecurityKey { get; }

    /// <summary>The public key as JWK members.</summary>
    public Dictionary<string, string> Jwk { get; }

    public static TestKey Rsa(string? kid, string alg = "RS256", int bits = 2048)
    {
        var rsa = RSA.Create(bits);
        var p = rsa.ExportParameters(false);
        var jwk = new Dictionary<string, string> { ["kty"] = "RSA", ["use"] = "sig", ["n"] = B64(p.Modulus!), ["e"] = B64(p.Exponent!) };
        if (kid is not null)
        {
            jwk["kid"] = kid;
        }

        return new TestKey(kid, alg, rsa, new RsaSecurityKey(rsa) { KeyId = kid }, jwk);
    }

    public static TestKey Ec(string? kid, string alg = "ES256")
    {
        var (curve, crv) = alg switch
        {
            "ES384" => (ECCurve.NamedCurves.nistP384, "P-384"),
            "ES512" => (ECCurve.NamedCurves.nistP521, "P-521"),
            _ => (ECCurve.NamedCurves.nistP256, "P-256"),
        };
        var ec = ECDsa.Create(curve);
        var p = ec.ExportParameters(false);
        var jwk = new Dictionary<string, string> { ["kty"] = "EC", ["crv"] = crv, ["x"] = B64(p.Q.X!), ["y"] = B64(p.Q.Y!) };
        if (kid is not null)
        {
            jwk["kid"] = kid;
        }

        return new TestKey(kid, alg, ec, new ECDsaSecurityKey(ec) { KeyId = kid }, jwk);
    }

    /// <summary>The public key's SubjectPublicKeyInfo PEM: what an algorithm-confusion attacker uses as an HMAC secret.</summary>
    public string PublicPem() => Key switch
    {
        RSA rsa => rsa.ExportSubjectPublicKeyInfoPem(),
        ECDsa ec => ec.ExportSubjectPublicKeyInfoPem(),
        _ => throw new InvalidOperationException(),
    };

    public static string B64(byte[] bytes) => Base64Url.EncodeToString(bytes);
}

/// <summary>Tokens as Cognito Identity (or an OIDC issuer) mints them, and the ways they go wrong.</summary>
internal static class TokenKit
{
    public const string Account = "123456789012";
    public const string Pool = "us-east-1:1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d";
    public const string OtherPool = "us-east-1:99999999-5e6f-4a8b-9c0d-1e2f3a4b5c6d";
    public const string IdentityId = "us-east-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

    /// <summary>An authenticated identity with no IoT policy attached.</summary>
    public const string Bare = "us-east-1:9e8d7c6b-5a49-4837-a261-504f3e2d1c0b";
    public const string CognitoIssuer = "https://cognito-identity.amazonaws.com";
    public const string Arn = $"arn:aws:iot:us-east-1:{Account}:";

    public static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    public static string Jwks(params TestKey[] keys) => JsonSerializer.Serialize(new { keys = keys.Select(k => k.Jwk).ToArray() });

    /// <summary>Cognito Identity's claims: issuer, the pool as audience, the identity as subject, amr, ten minutes of life.</summary>
    public static Dictionary<string, object> Claims(string identity = IdentityId, string pool = Pool, string[]? amr = null, string issuer = CognitoIssuer) => new()
    {
        ["iss"] = issuer,
        ["aud"] = pool,
        ["sub"] = identity,
        ["amr"] = amr ?? ["authenticated", "cognito-idp.us-east-1.amazonaws.com/us-east-1_Example", "cognito-idp.us-east-1.amazonaws.com/us-east-1_Example:CognitoSignIn:abc"],
        ["iat"] = Now.ToUnixTimeSeconds(),
        ["exp"] = Now.AddMinutes(10).ToUnixTimeSeconds(),
    };

    public static Dictionary<string, object> With(this Dictionary<string, object> claims, string name, object? value)
    {
        var copy = new Dictionary<string, object>(claims);
        if (value is null)
        {
            copy.Remove(name);
        }
        else
        {
            copy[name] = value;
        }

        return copy;
    }

    /// <summary>Signed by the library, as an issuer would.</summary>
    public static string Mint(TestKey key, Dictionary<string, object> claims, string? alg = null, Dictionary<string, object>? header = null)
    {
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        return handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            SigningCredentials = new SigningCredentials(key.SecurityKey, alg ?? key.Alg),
            AdditionalHeaderClaims = header,
        });
    }

    /// <summary>An unsigned token (<c>alg: none</c>, empty signature).</summary>
    public static string Unsigned(Dictionary<string, object> claims) =>
        Part(new Dictionary<string, object> { ["alg"] = "none", ["typ"] = "JWT" }) + "." + Part(claims) + ".";

    /// <summary>The classic algorithm confusion: HS256, keyed with the issuer's public key as published.</summary>
    public static string HmacWithPublicKey(TestKey key, Dictionary<string, object> claims)
    {
        var signed = Part(new Dictionary<string, object> { ["alg"] = "HS256", ["typ"] = "JWT", ["kid"] = key.Kid! }) + "." + Part(claims);
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(key.PublicPem()), Encoding.ASCII.GetBytes(signed));
        return signed + "." + TestKey.B64(mac);
    }

    /// <summary>The token with its payload replaced and the original signature kept.</summary>
    public static string WithPayload(string token, Dictionary<string, object> claims)
    {
        var parts = token.Split('.');
        return parts[0] + "." + Part(claims) + "." + parts[2];
    }

    /// <summary>The token with one bit of its signature's first byte flipped.</summary>
    public static string WithFlippedSignature(string token)
    {
        var parts = token.Split('.');
        var signature = Base64Url.DecodeFromChars(parts[2]);
        signature[0] ^= 1;
        return parts[0] + "." + parts[1] + "." + TestKey.B64(signature);
    }

    public static string Part(object value) => TestKey.B64(JsonSerializer.SerializeToUtf8Bytes(value));

    public static string Document(params string[] statements) => $$"""{"Version": "2012-10-17", "Statement": [{{string.Join(", ", statements)}}]}""";

    public static string Allow(string action, string resource, string? condition = null) =>
        $$"""{"Effect": "Allow", "Action": "{{action}}", "Resource": "{{resource}}"{{(condition is null ? "" : $", \"Condition\": {condition}")}}}""";
}

/// <summary>A registry directory for a test: registry.yaml after the account header, and the files it references.</summary>
internal sealed class CognitoRegistry : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("extauthz-cognito-").FullName;
    private long generation;

    public CognitoRegistry File(string name, string text)
    {
        System.IO.File.WriteAllText(Path.Combine(directory, name), text);
        return this;
    }

    public RegistrySnapshot Load(string yaml)
    {
        System.IO.File.WriteAllText(Path.Combine(directory, "registry.yaml"), $"account: \"{TokenKit.Account}\"\nregion: us-east-1\n" + yaml);
        return RegistryLoader.Load([directory], ++generation);
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
