using System.Diagnostics;
using System.Net;
using ExtAuthz.Identity.Cognito;
using ExtAuthz.Registry;
using Microsoft.Extensions.Time.Testing;
using static ExtAuthz.Identity.Tests.Cognito.TokenKit;

namespace ExtAuthz.Identity.Tests.Cognito;

/// <summary>
/// Keys fetched from a pool's JWKS URL or its issuer's discovery document: fetched in the background
/// (Verify refuses while they are on their way, and never waits), refreshed when a token names an
/// unknown key (at most once per MinRefreshGap) or when they grow old, kept when a refresh fails, and
/// abandoned when the issuer does not answer in time.
/// </summary>
public sealed class JwksFetchTests : IDisposable
{
    private const string JwksUrl = "https://keys.example.com/jwks.json";
    private const string DiscoveryUrl = "https://cognito-identity.amazonaws.com/.well-known/openid-configuration";
    private const string DiscoveredJwks = "https://cognito-identity.amazonaws.com/.well-known/jwks_uri";
    private const string Fetching = "keys for https://cognito-identity.amazonaws.com are being fetched; retry";
    private static readonly ConnectionFacts Facts = new() { ClientId = IdentityId };

    private readonly CognitoRegistry registry = new();
    private readonly FakeTimeProvider time = new(Now);
    private readonly JwksServer server = new();
    private static readonly TestKey First = TestKey.Rsa("first");
    private static readonly TestKey Second = TestKey.Ec("second");
    private readonly CognitoTokenVerifier verifier;

    public JwksFetchTests()
    {
        verifier = new CognitoTokenVerifier(new CognitoVerifierOptions { Handler = server }, time);
    }

    public void Dispose()
    {
        verifier.Dispose();
        server.Dispose();
        registry.Dispose();
    }

    private RegistrySnapshot Load(string keys = $"jwksUrl: {JwksUrl}") => registry.Load(CognitoTokenVerifierTests.StandardRegistry(keys));

    private static void Accepted(IdentityResult result) => Assert.True(result.Succeeded, result.FailureReason);

    private static void Refused(IdentityResult result, string reason)
    {
        Assert.Equal(IdentityFailure.Unregistered, result.Failure);
        Assert.Contains(reason, result.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_first_token_starts_the_fetch_and_is_refused_until_the_keys_are_in()
    {
        server.Serve(JwksUrl, Jwks(First));
        var snapshot = Load();
        var token = Mint(First, Claims());

        var result = verifier.Verify(snapshot, token, Facts);

        Assert.Equal(IdentityFailure.Unregistered, result.Failure);
        Assert.Equal(Fetching, result.FailureReason);
        await verifier.WarmUpAsync(snapshot);
        Accepted(verifier.Verify(snapshot, token, Facts));
        Assert.Equal([JwksUrl], server.Requests);
    }

    [Fact]
    public async Task Warming_up_fetches_before_the_first_token()
    {
        server.Serve(JwksUrl, Jwks(First));
        var snapshot = Load();

        await verifier.WarmUpAsync(snapshot);

        Accepted(verifier.Verify(snapshot, Mint(First, Claims()), Facts));
    }

    [Fact]
    public async Task Keys_are_kept_across_snapshots_by_URL()
    {
        server.Serve(JwksUrl, Jwks(First));
        await verifier.WarmUpAsync(Load());

        var reloaded = Load();

        Accepted(verifier.Verify(reloaded, Mint(First, Claims()), Facts));
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Without_a_JWKS_the_issuer_discovery_document_names_where_the_keys_are()
    {
        server.Serve(DiscoveryUrl, $$"""{"issuer": "{{CognitoIssuer}}", "jwks_uri": "{{DiscoveredJwks}}"}""").Serve(DiscoveredJwks, Jwks(First));
        var snapshot = Load(keys: "");

        await verifier.WarmUpAsync(snapshot);

        Accepted(verifier.Verify(snapshot, Mint(First, Claims()), Facts));
        Assert.Equal([DiscoveryUrl, DiscoveredJwks], server.Requests);
    }

    [Fact]
    public async Task A_discovery_document_of_another_issuer_is_not_believed()
    {
        server.Serve(DiscoveryUrl, $$"""{"issuer": "https://impostor.example.com", "jwks_uri": "{{DiscoveredJwks}}"}""").Serve(DiscoveredJwks, Jwks(First));
        var snapshot = Load(keys: "");

        await verifier.WarmUpAsync(snapshot);

        Refused(verifier.Verify(snapshot, Mint(First, Claims()), Facts),
            $"keys for {CognitoIssuer} could not be fetched (the discovery document at {DiscoveryUrl} names issuer https://impostor.example.com, not {CognitoIssuer})");
        Assert.DoesNotContain(DiscoveredJwks, server.Requests);
    }

    [Fact]
    public async Task An_unknown_kid_refreshes_the_keys_at_most_once_per_gap()
    {
        server.Serve(JwksUrl, Jwks(First));
        var snapshot = Load();
        await verifier.WarmUpAsync(snapshot);
        server.Serve(JwksUrl, Jwks(First, Second));
        var rotated = Mint(Second, Claims());

        // Fetched just now: the unknown kid does not send the verifier back to the issuer yet, however often it comes.
        for (var i = 0; i < 5; i++)
        {
            Refused(verifier.Verify(snapshot, rotated, Facts),
                $"key second is not among the 1 keys of {CognitoIssuer} fetched at {Now:O}; they were fetched less than 30 s ago, so the next refresh is after {Now.AddSeconds(30):O}");
        }

        time.Advance(TimeSpan.FromSeconds(31));
        Refused(verifier.Verify(snapshot, rotated, Facts), "they are being fetched again; retry");
        await verifier.WarmUpAsync(snapshot);

        Accepted(verifier.Verify(snapshot, rotated, Facts));
        Accepted(verifier.Verify(snapshot, Mint(First, Claims()), Facts));
        Assert.Equal(2, server.CountOf(JwksUrl));
    }

    [Fact]
    public async Task A_withdrawn_key_stops_verifying_cached_tokens_once_the_keys_are_refreshed()
    {
        server.Serve(JwksUrl, Jwks(First));
        var snapshot = Load();
        await verifier.WarmUpAsync(snapshot);
        var token = Mint(First, Claims().With("exp", Now.AddHours(2).ToUnixTimeSeconds()));
        Accepted(verifier.Verify(snapshot, token, Facts));

        server.Serve(JwksUrl, Jwks(Second));
        time.Advance(TimeSpan.FromHours(1));

        // Keys an hour old still serve while the refresh runs in the background.
        Accepted(verifier.Verify(snapshot, token, Facts));
        await verifier.WarmUpAsync(snapshot);

        Refused(verifier.Verify(snapshot, token, Facts), "key first is not among the 1 keys");
    }

    [Fact]
    public async Task A_failed_refresh_keeps_the_keys_it_had()
    {
        server.Serve(JwksUrl, Jwks(First));
        var snapshot = Load();
        await verifier.WarmUpAsync(snapshot);
        server.Fail(JwksUrl, HttpStatusCode.InternalServerError);

        time.Advance(TimeSpan.FromHours(1));
        await verifier.WarmUpAsync(snapshot);

        Assert.Equal(2, server.CountOf(JwksUrl));
        Accepted(verifier.Verify(snapshot, Mint(First, Claims().With("exp", Now.AddHours(2).ToUnixTimeSeconds())), Facts));
    }

    [Fact]
    public async Task A_fetch_that_fails_is_reported_and_retried_after_the_gap()
    {
        server.Fail(JwksUrl, HttpStatusCode.ServiceUnavailable);
        var snapshot = Load();
        var token = Mint(First, Claims());
        await verifier.WarmUpAsync(snapshot);

        Refused(verifier.Verify(snapshot, token, Facts),
            $"keys for {CognitoIssuer} could not be fetched ({JwksUrl} answered 503 Service Unavailable); the next attempt is after {Now.AddSeconds(30):O}");

        server.Serve(JwksUrl, Jwks(First));
        time.Advance(TimeSpan.FromSeconds(30));
        Refused(verifier.Verify(snapshot, token, Facts), "they are being fetched again; retry");
        await verifier.WarmUpAsync(snapshot);
        Accepted(verifier.Verify(snapshot, token, Facts));
    }

    [Fact]
    public async Task An_issuer_that_never_answers_does_not_stall_Verify_and_times_out()
    {
        server.Hang(JwksUrl);
        var snapshot = Load();
        var token = Mint(First, Claims());
        var requested = server.NextRequest();

        var clock = Stopwatch.StartNew();
        var results = Enumerable.Range(0, 100).Select(_ => verifier.Verify(snapshot, token, Facts)).ToArray();
        clock.Stop();

        Assert.All(results, r => Assert.Equal(Fetching, r.FailureReason));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"100 verifications took {clock.Elapsed}");
        await requested;
        Assert.Single(server.Requests);

        // The fetch gives up after FetchTimeout (5 s) on the verifier's clock.
        time.Advance(TimeSpan.FromSeconds(5));
        await verifier.WarmUpAsync(snapshot).WaitAsync(TimeSpan.FromSeconds(30));

        Refused(verifier.Verify(snapshot, token, Facts), $"keys for {CognitoIssuer} could not be fetched ({JwksUrl} did not answer within 5 s)");
    }

    [Fact]
    public async Task Keys_are_never_fetched_in_the_clear_from_a_remote_host()
    {
        const string Plain = "http://keys.example.com/jwks.json";
        server.Serve(Plain, Jwks(First));
        var snapshot = Load(keys: $"jwksUrl: {Plain}");

        await verifier.WarmUpAsync(snapshot);

        Refused(verifier.Verify(snapshot, Mint(First, Claims()), Facts), $"{Plain} is not an https URL (plain http is allowed only to a loopback address)");
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Plain_http_to_a_loopback_address_is_allowed()
    {
        const string Loopback = "http://127.0.0.1:8080/jwks.json";
        server.Serve(Loopback, Jwks(First));
        var snapshot = Load(keys: $"jwksUrl: {Loopback}");

        await verifier.WarmUpAsync(snapshot);

        Accepted(verifier.Verify(snapshot, Mint(First, Claims()), Facts));
    }

    [Fact]
    public async Task A_response_that_is_no_JWKS_is_reported()
    {
        server.Serve(JwksUrl, "<html>maintenance</html>");
        var snapshot = Load();

        await verifier.WarmUpAsync(snapshot);

        Refused(verifier.Verify(snapshot, Mint(First, Claims()), Facts), $"could not be fetched ({JwksUrl}: not a JWKS document");
    }

    [Fact]
    public async Task Disposing_abandons_a_fetch_under_way()
    {
        server.Hang(JwksUrl);
        var snapshot = Load();
        var requested = server.NextRequest();
        verifier.Verify(snapshot, Mint(First, Claims()), Facts);
        await requested;
        var warmUp = verifier.WarmUpAsync(snapshot);

        verifier.Dispose();

        await warmUp.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Throws<ObjectDisposedException>(() => verifier.Verify(snapshot, Mint(First, Claims()), Facts));
    }
}
