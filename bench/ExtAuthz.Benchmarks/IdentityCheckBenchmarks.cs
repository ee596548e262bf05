using BenchmarkDotNet.Attributes;
using Envoy.Service.Auth.V3;
using ExtAuthz.Envoy;
using ExtAuthz.Envoy.Checking;
using ExtAuthz.Envoy.Simulation;
using ExtAuthz.Envoy.Tests.Support;
using ExtAuthz.Identity.Cognito;
using ExtAuthz.Identity.SigV4;
using ExtAuthz.Identity.Tests.SigV4;
using ExtAuthz.Identity.Tests.Support;

namespace ExtAuthz.Benchmarks;

/// <summary>
/// <see cref="CheckHandler.Check"/> for the identities of 443 (issue #6's target: ≤ 20 µs each), on the
/// Envoy tests' fleet: a Cognito token whose pool keys are loaded, presented again (as an app reuses
/// it for its lifetime: its signature was verified on first use), and a request signed by AWS's SDK
/// with SigV4 (the derived signing key cached, as after a key's first request).
/// </summary>
[Config(typeof(MicroConfig))]
public class IdentityCheckBenchmarks
{
    private CheckFleet fleet = null!;
    private CognitoTokenVerifier cachedTokens = null!;
    private CognitoTokenVerifier uncachedTokens = null!;
    private CheckHandler tokenHandler = null!;
    private CheckHandler firstUseHandler = null!;
    private CheckHandler signatureHandler = null!;
    private CheckRequest tokenPublish = null!;
    private CheckRequest signedGet = null!;
    private System.Security.Cryptography.RSA tokenKey = null!;
    private byte[] signedPart = null!;
    private byte[] signature = null!;

    [GlobalSetup]
    public void Setup()
    {
        fleet = new CheckFleet();
        cachedTokens = new CognitoTokenVerifier();
        tokenHandler = new CheckHandler(() => fleet.Snapshot, new CheckHandlerOptions { Tokens = cachedTokens });

        // No verified-token cache: every Check verifies the token's signature, as a token's first use does.
        uncachedTokens = new CognitoTokenVerifier(new CognitoVerifierOptions { TokenCacheCapacity = 0 });
        firstUseHandler = new CheckHandler(() => fleet.Snapshot, new CheckHandlerOptions { Tokens = uncachedTokens });

        var topic = $"/topics/apps/{CheckFleet.AppIdentity}/status";
        tokenPublish = Https("POST", topic).WithHeader("authorization", "Bearer " + fleet.CognitoToken()).Build();

        var at = new DateTimeOffset(SdkSigner.SignedAt);
        signatureHandler = new CheckHandler(() => fleet.Snapshot,
            new CheckHandlerOptions { Signatures = new SigV4Verifier(time: new FixedTime(at)), Time = new FixedTime(at) });
        var signed = new SdkSigner { AccessKeyId = CheckFleet.OperatorKeyId, Secret = CheckFleet.OperatorSecret }
            .Sign("GET", "/things/{thingName}/shadow", pathResources: new Dictionary<string, string> { ["{thingName}"] = "sensor-1" });
        var request = Https(signed.Method, signed.RawPath).WithHost(signed.Host);
        foreach (var (name, value) in signed.Headers.Where(h => h.Key is not "host" && !h.Key.StartsWith(':')))
        {
            request.WithHeader(name, value);
        }

        signedGet = request.Build();

        // The token's own signature, checked with its pool key alone: the floor under a first use.
        var token = fleet.CognitoToken();
        var lastDot = token.LastIndexOf('.');
        signedPart = System.Text.Encoding.ASCII.GetBytes(token[..lastDot]);
        signature = System.Buffers.Text.Base64Url.DecodeFromChars(token.AsSpan(lastDot + 1));
        tokenKey = System.Security.Cryptography.RSA.Create();
        tokenKey.ImportParameters(fleet.TokenKey.ExportParameters(includePrivateParameters: false));
        if (!RsaVerify())
        {
            throw new InvalidOperationException("the token's RS256 signature does not verify with its pool key");
        }

        Expect(tokenHandler.Check(tokenPublish), "Cognito token");
        Expect(firstUseHandler.Check(tokenPublish), "Cognito token, first use");
        Expect(signatureHandler.Check(signedGet), "SigV4");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        tokenKey.Dispose();
        cachedTokens.Dispose();
        uncachedTokens.Dispose();
        fleet.Dispose();
    }

    [Benchmark(Description = "Cognito token, seen before: HTTP publish")]
    public CheckResponse CachedToken() => tokenHandler.Check(tokenPublish);

    [Benchmark(Description = "Cognito token, first use (signature verified): HTTP publish")]
    public CheckResponse FirstUseToken() => firstUseHandler.Check(tokenPublish);

    [Benchmark(Description = "(floor) the token's RS256 signature alone: RSA-2048 VerifyData")]
    public bool RsaVerify() =>
        tokenKey.VerifyData(signedPart, signature, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);

    [Benchmark(Description = "SigV4 header: HTTP GET shadow")]
    public CheckResponse SigV4() => signatureHandler.Check(signedGet);

    private static EnvoyCheckRequest Https(string method, string path) => EnvoyCheckRequest.Http(method, path).WithListenerPort(EnvoyCheckRequest.HttpsPort);

    private static void Expect(CheckResponse response, string what)
    {
        if (response.Status.Code != 0)
        {
            throw new InvalidOperationException($"the {what} benchmark request is not allowed: {response.Status.Message}");
        }
    }
}
