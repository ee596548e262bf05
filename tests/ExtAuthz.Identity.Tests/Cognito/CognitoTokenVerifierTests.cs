using ExtAuthz.Identity.Cognito;
using ExtAuthz.Policy;
using ExtAuthz.Registry;
using Microsoft.Extensions.Time.Testing;
using static ExtAuthz.Identity.Tests.Cognito.TokenKit;

namespace ExtAuthz.Identity.Tests.Cognito;

/// <summary>
/// Cognito Identity tokens checked against a pool's JWKS file: who the principal is and which policies
/// apply (the unauthenticated role; the authenticated role intersected with the identity's IoT
/// policies), and every way a token is refused.
/// </summary>
public sealed class CognitoTokenVerifierTests : IDisposable
{
    private const string Sub = "${cognito-identity.amazonaws.com:sub}";
    private static readonly ConnectionFacts Facts = new() { ClientId = IdentityId, SourceIp = "10.0.0.7" };

    private readonly CognitoRegistry registry = new();
    private readonly FakeTimeProvider time = new(Now);
    private static readonly TestKey Rsa = TestKey.Rsa("rsa-1");
    private static readonly TestKey Ec = TestKey.Ec("ec-1");
    private readonly CognitoTokenVerifier verifier;

    public CognitoTokenVerifierTests()
    {
        verifier = new CognitoTokenVerifier(time: time);
    }

    public void Dispose()
    {
        verifier.Dispose();
        registry.Dispose();
    }

    /// <summary>
    /// The pool (keys from pool-jwks.json) with both roles, and an IoT policy attached to <see cref="IdentityId"/>.
    /// The authenticated role allows Connect as the identity's own client ID and Publish anywhere (for this
    /// pool's authenticated identities, by the aud and amr keys); the IoT policy narrows Publish to the
    /// identity's own topics. The unauthenticated role allows Publish to a guest topic of one's own.
    /// </summary>
    internal static string StandardRegistry(string keys = "jwksFile: pool-jwks.json", string? authenticatedRole = "CognitoAuthenticated") => $$"""
        policies:
          - name: IdentityPolicy
            document: |
              {{Document(Allow("iot:Connect", Arn + "client/*"), Allow("iot:Publish", Arn + $"topic/devices/{Sub}/*"))}}
        policyAttachments:
          - policy: IdentityPolicy
            cognitoIdentity: {{IdentityId}}
        iam:
          roles:
            - name: CognitoAuthenticated
              inlinePolicies:
                - name: Access
                  document: |
                    {{Document(Allow("iot:Connect", Arn + $"client/{Sub}"), Allow("iot:Publish", Arn + "topic/*",
                        $$$"""{"StringEquals": {"cognito-identity.amazonaws.com:aud": "{{{Pool}}}"}, "ForAnyValue:StringEquals": {"cognito-identity.amazonaws.com:amr": "authenticated"}}"""))}}
            - name: CognitoUnauthenticated
              inlinePolicies:
                - name: Guest
                  document: |
                    {{Document(Allow("iot:Publish", Arn + $"topic/guests/{Sub}",
                        """{"ForAnyValue:StringEquals": {"cognito-identity.amazonaws.com:amr": "unauthenticated"}}"""))}}
        cognito:
          identityPools:
            - id: {{Pool}}
              {{(authenticatedRole is null ? "" : $"authenticatedRole: {authenticatedRole}")}}
              unauthenticatedRole: CognitoUnauthenticated
              {{keys}}
        """;

    private RegistrySnapshot Load(params TestKey[] keys) =>
        registry.File("pool-jwks.json", Jwks(keys.Length == 0 ? [Rsa, Ec] : keys)).Load(StandardRegistry());

    private IdentityResult Verify(string token, RegistrySnapshot? snapshot = null) => verifier.Verify(snapshot ?? Load(), token, Facts);

    private static AuthorizationSubject Accepted(IdentityResult result)
    {
        Assert.True(result.Succeeded, result.FailureReason);
        Assert.Equal(IdentityFailure.None, result.Failure);
        return result.Subject!;
    }

    private static void Refused(IdentityResult result, IdentityFailure failure, string reason)
    {
        Assert.False(result.Succeeded);
        Assert.Equal(failure, result.Failure);
        Assert.Contains(reason, result.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_authenticated_identity_gets_its_role_intersected_with_its_IoT_policies()
    {
        var result = Verify(Mint(Rsa, Claims()));

        var subject = Accepted(result);
        Assert.Equal(PrincipalKind.CognitoAuthenticated, subject.Kind);
        Assert.Equal(IdentityId, subject.PrincipalId);
        Assert.Equal(IdentityId, result.CredentialId);

        // Both the role (its own client ID, by ${cognito-identity.amazonaws.com:sub}) and the IoT policy allow.
        Assert.Equal(DecisionKind.Allowed, subject.Decide("iot:Connect", Arn + $"client/{IdentityId}").Kind);
        Assert.Equal(DecisionKind.ImplicitDeny, subject.Decide("iot:Connect", Arn + "client/someone-else").Kind);

        // The role allows Publish anywhere (its aud and amr conditions hold); the IoT policy only to the identity's topics.
        Assert.Equal(DecisionKind.Allowed, subject.Decide("iot:Publish", Arn + $"topic/devices/{IdentityId}/temperature").Kind);
        Assert.Equal(DecisionKind.ImplicitDeny, subject.Decide("iot:Publish", Arn + "topic/devices/someone-else/temperature").Kind);
        Assert.Equal(DecisionKind.ImplicitDeny, subject.Decide("iot:Publish", Arn + $"topic/guests/{IdentityId}").Kind);
    }

    [Fact]
    public void An_authenticated_identity_without_IoT_policies_may_do_none_of_the_scoped_actions()
    {
        var subject = Accepted(Verify(Mint(Rsa, Claims(identity: Bare))));

        Assert.Equal(PrincipalKind.CognitoAuthenticated, subject.Kind);
        Assert.Equal(DecisionKind.ImplicitDeny, subject.Decide("iot:Connect", Arn + $"client/{Bare}").Kind);
        Assert.Equal(DecisionKind.ImplicitDeny, subject.Decide("iot:Publish", Arn + $"topic/devices/{Bare}/temperature").Kind);
    }

    [Fact]
    public void An_unauthenticated_identity_gets_the_unauthenticated_role_only()
    {
        var subject = Accepted(Verify(Mint(Rsa, Claims(amr: ["unauthenticated"]))));

        Assert.Equal(PrincipalKind.CognitoUnauthenticated, subject.Kind);
        Assert.Equal(IdentityId, subject.PrincipalId);
        Assert.Null(subject.ScopedBoundary);
        Assert.Equal(DecisionKind.Allowed, subject.Decide("iot:Publish", Arn + $"topic/guests/{IdentityId}").Kind);
        Assert.Equal(DecisionKind.ImplicitDeny, subject.Decide("iot:Publish", Arn + "topic/guests/someone-else").Kind);

        // Neither the authenticated role nor the identity's IoT policy applies.
        Assert.Equal(DecisionKind.ImplicitDeny, subject.Decide("iot:Publish", Arn + $"topic/devices/{IdentityId}/temperature").Kind);
        Assert.Equal(DecisionKind.ImplicitDeny, subject.Decide("iot:Connect", Arn + $"client/{IdentityId}").Kind);
    }

    [Fact]
    public void The_cognito_identity_condition_keys_come_from_the_token()
    {
        var amr = new[] { "authenticated", "accounts.google.com", "accounts.google.com:1234" };
        var subject = Accepted(Verify(Mint(Rsa, Claims(amr: amr))));

        Assert.True(subject.Context.TryGetValue("cognito-identity.amazonaws.com:sub", out var sub));
        Assert.Equal(IdentityId, sub.Single);
        Assert.True(subject.Context.TryGetValue("cognito-identity.amazonaws.com:aud", out var aud));
        Assert.Equal(Pool, aud.Single);
        Assert.True(subject.Context.TryGetValue("cognito-identity.amazonaws.com:amr", out var methods));
        Assert.Equal(amr, Enumerable.Range(0, methods.Count).Select(i => methods[i]));
    }

    [Theory]
    [InlineData("RS256")]
    [InlineData("RS384")]
    [InlineData("RS512")]
    [InlineData("PS256")]
    [InlineData("PS512")]
    [InlineData("ES256")]
    [InlineData("ES384")]
    [InlineData("ES512")]
    public void Every_allowed_algorithm_verifies(string alg)
    {
        var key = alg.StartsWith("ES", StringComparison.Ordinal) ? TestKey.Ec("k-" + alg, alg) : TestKey.Rsa("k-" + alg, alg);

        Accepted(Verify(Mint(key, Claims()), Load(key)));
    }

    [Fact]
    public void A_token_without_a_kid_is_checked_against_the_keys_fit_for_its_algorithm()
    {
        var anonymous = TestKey.Rsa(kid: null);

        Accepted(Verify(Mint(anonymous, Claims()), Load(Ec, anonymous)));
    }

    [Fact]
    public void An_expired_token_is_refused_beyond_the_clock_skew_only()
    {
        var snapshot = Load();
        var claims = Claims().With("exp", Now.AddSeconds(-30).ToUnixTimeSeconds());
        Accepted(Verify(Mint(Rsa, claims), snapshot));

        var expired = Verify(Mint(Rsa, Claims().With("exp", Now.AddSeconds(-61).ToUnixTimeSeconds())), snapshot);

        Refused(expired, IdentityFailure.Expired, $"the token expired at {Now.AddSeconds(-61):O} (clock skew allowed: 60 s)");
        Assert.Equal(IdentityId, expired.CredentialId);
    }

    [Fact]
    public void A_token_not_yet_valid_is_refused_beyond_the_clock_skew_only()
    {
        var snapshot = Load();
        Accepted(Verify(Mint(Rsa, Claims().With("nbf", Now.AddSeconds(45).ToUnixTimeSeconds())), snapshot));

        var early = Verify(Mint(Rsa, Claims().With("nbf", Now.AddMinutes(2).ToUnixTimeSeconds())), snapshot);

        Refused(early, IdentityFailure.NotYetValid, $"the token is not valid before {Now.AddMinutes(2):O}");
    }

    [Fact]
    public void A_cached_token_still_expires()
    {
        var snapshot = Load();
        var token = Mint(Rsa, Claims());
        Accepted(Verify(token, snapshot));
        Accepted(Verify(token, snapshot));
        Assert.Equal(1, verifier.VerifiedTokenCount(snapshot));

        time.Advance(TimeSpan.FromMinutes(11) + TimeSpan.FromSeconds(1));

        Refused(Verify(token, snapshot), IdentityFailure.Expired, "the token expired at");
    }

    [Fact]
    public void Each_verifier_keeps_its_own_verified_tokens_with_its_own_capacity()
    {
        var snapshot = Load();
        var token = Mint(Rsa, Claims());
        using var uncached = new CognitoTokenVerifier(new CognitoVerifierOptions { TokenCacheCapacity = 0 }, time);

        Accepted(Verify(token, snapshot));
        Accepted(uncached.Verify(snapshot, token, Facts));
        Accepted(uncached.Verify(snapshot, token, Facts));

        // The first verifier's cache does not serve (or take in) the second's tokens, whose capacity is 0.
        Assert.Equal(1, verifier.VerifiedTokenCount(snapshot));
        Assert.Equal(0, uncached.VerifiedTokenCount(snapshot));
    }

    [Fact]
    public void A_token_from_another_issuer_is_refused()
    {
        var result = Verify(Mint(Rsa, Claims(issuer: "https://issuer.example.com")));

        Refused(result, IdentityFailure.Unregistered,
            $"the token's issuer https://issuer.example.com is not identity pool {Pool}'s issuer https://cognito-identity.amazonaws.com");
        Assert.Null(result.CredentialId);
    }

    [Fact]
    public void A_token_for_an_unknown_pool_is_refused()
    {
        Refused(Verify(Mint(Rsa, Claims(pool: OtherPool))), IdentityFailure.Unregistered,
            $"the token's audience {OtherPool} is no configured identity pool, and its issuer https://cognito-identity.amazonaws.com no configured OpenID Connect provider");
        Refused(Verify(Mint(Rsa, Claims().With("aud", null))), IdentityFailure.Unregistered, "the token has no audience (aud)");
    }

    [Fact]
    public void A_token_signed_by_a_key_the_pool_does_not_have_is_refused()
    {
        Refused(Verify(Mint(TestKey.Rsa("rsa-2"), Claims())), IdentityFailure.Unregistered, $"key rsa-2 is not in the jwksFile of identity pool {Pool}");
    }

    [Fact]
    public void A_token_signed_by_another_key_under_a_known_kid_is_refused()
    {
        var impostor = TestKey.Rsa("rsa-1");

        Refused(Verify(Mint(impostor, Claims())), IdentityFailure.Malformed,
            "the token's signature does not verify with https://cognito-identity.amazonaws.com's key rsa-1");
    }

    [Fact]
    public void An_unsigned_token_is_refused()
    {
        Refused(Verify(Unsigned(Claims())), IdentityFailure.Malformed, "the token is unsigned (alg none)");
    }

    [Fact]
    public void An_HMAC_token_keyed_with_the_public_key_is_refused()
    {
        Refused(Verify(HmacWithPublicKey(Rsa, Claims())), IdentityFailure.Malformed, "the token's alg HS256 is refused: HMAC needs a shared secret");
    }

    [Fact]
    public void A_token_whose_alg_does_not_fit_its_key_is_refused()
    {
        // An EC signature presented under the RSA key's kid.
        var confused = TestKey.Ec("rsa-1");

        Refused(Verify(Mint(confused, Claims())), IdentityFailure.Malformed, "the token's alg ES256 does not fit its key: key rsa-1 is an RSA key, and ES256 needs an EC P-256 key");
    }

    [Fact]
    public void A_key_pinned_to_an_algorithm_verifies_only_that_one()
    {
        var pinned = TestKey.Rsa("pinned");
        pinned.Jwk["alg"] = "RS512";

        Refused(Verify(Mint(pinned, Claims(), alg: "RS256"), Load(pinned)), IdentityFailure.Malformed, "key pinned is for RS512, not RS256");
    }

    [Fact]
    public void An_algorithm_outside_the_allow_list_is_refused()
    {
        using var strict = new CognitoTokenVerifier(new CognitoVerifierOptions { Algorithms = new HashSet<string> { "RS256" } }, time);

        Refused(strict.Verify(Load(), Mint(Rsa, Claims(), alg: "RS512"), Facts), IdentityFailure.Malformed, "the token's alg RS512 is not allowed (allowed: RS256)");
    }

    [Fact]
    public void A_tampered_payload_is_refused()
    {
        var token = Mint(Rsa, Claims(amr: ["unauthenticated"]));
        var promoted = WithPayload(token, Claims());

        Refused(Verify(promoted), IdentityFailure.Malformed, "the token's signature does not verify");
    }

    [Fact]
    public void A_tampered_signature_is_refused()
    {
        Refused(Verify(WithFlippedSignature(Mint(Rsa, Claims()))), IdentityFailure.Malformed, "the token's signature does not verify");
        Refused(Verify(WithFlippedSignature(Mint(Ec, Claims()))), IdentityFailure.Malformed, "the token's signature does not verify");
    }

    [Theory]
    [InlineData("abc", "is not a JWT")]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0", "is not a JWT")]
    [InlineData("eyJhbGciOiJSUzI1NiJ9..c2ln", "is not a JWT")]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln.c2ln", "is not a JWT")]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln=", "is not a JWT")]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln", "is not base64url-encoded JSON")]
    [InlineData("eyJub3QganNvbg.eyJzdWIiOiJ4In0.c2ln", "is not base64url-encoded JSON")]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.eyJleHAiOiJzb29uIn0.c2ln", "a registered claim (iss, aud, exp, nbf, …) has the wrong type")]
    [InlineData("eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJ4In0.c2ln", "names no algorithm (alg)")]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiLNIn0.c2ln", "is not base64url-encoded JSON")]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4IiwiYW1yIjpbIs0iXX0.c2ln", "the bearer token's header or payload could not be read: ")]
    [InlineData("eyJhbGciOiJSUzI1NiIsImtpZCI6Iv8ifQ.eyJzdWIiOiJ4In0.c2ln", "is not base64url-encoded JSON")]
    public void A_malformed_token_is_refused(string token, string reason)
    {
        Refused(Verify(token), IdentityFailure.Malformed, reason);
    }

    [Fact]
    public void A_missing_or_oversized_token_is_refused()
    {
        Refused(Verify(""), IdentityFailure.Missing, "no bearer token was presented");
        Refused(Verify("eyJ" + new string('a', CognitoTokenVerifier.MaxTokenLength) + ".e.e"), IdentityFailure.Malformed, "at most 16384 are accepted");
    }

    [Fact]
    public void A_token_with_critical_header_extensions_is_refused()
    {
        var token = Mint(Rsa, Claims(), header: new Dictionary<string, object> { ["crit"] = new[] { "exp-ext" }, ["exp-ext"] = 1 });

        Refused(Verify(token), IdentityFailure.Malformed, "critical extensions (crit)");
    }

    [Fact]
    public void A_token_without_expiry_is_refused()
    {
        Refused(Verify(Mint(Rsa, Claims().With("exp", null))), IdentityFailure.Malformed, "the token has no expiry (exp)");
    }

    [Fact]
    public void The_subject_must_be_an_identity_of_the_pool_region()
    {
        Refused(Verify(Mint(Rsa, Claims().With("sub", null))), IdentityFailure.Malformed, "the token has no subject (sub), which is the Cognito identity ID");
        Refused(Verify(Mint(Rsa, Claims(identity: "alice"))), IdentityFailure.Malformed, "the token's subject alice is not a Cognito identity ID (region:uuid)");
        Refused(Verify(Mint(Rsa, Claims(identity: "eu-west-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"))), IdentityFailure.Unregistered,
            $"identity eu-west-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 is in eu-west-1, and identity pool {Pool} in us-east-1");
    }

    [Fact]
    public void The_amr_must_say_authenticated_or_unauthenticated()
    {
        Refused(Verify(Mint(Rsa, Claims().With("amr", null))), IdentityFailure.Malformed, "the token has no authentication methods (amr)");
        Refused(Verify(Mint(Rsa, Claims(amr: ["accounts.google.com"]))), IdentityFailure.Malformed, "the token's amr [accounts.google.com] says neither authenticated nor unauthenticated");
        Refused(Verify(Mint(Rsa, Claims(amr: ["authenticated", "unauthenticated"]))), IdentityFailure.Malformed, "the token's amr says both authenticated and unauthenticated");
        Refused(Verify(Mint(Rsa, Claims().With("amr", new Dictionary<string, int> { ["authenticated"] = 1 }))), IdentityFailure.Malformed, "the token's amr is not a list of strings");
    }

    [Fact]
    public void A_single_amr_string_is_read_as_a_list_of_one()
    {
        var subject = Accepted(Verify(Mint(Rsa, Claims().With("amr", "unauthenticated"))));

        Assert.Equal(PrincipalKind.CognitoUnauthenticated, subject.Kind);
    }

    [Fact]
    public void A_pool_without_the_role_refuses_its_identities()
    {
        var snapshot = registry.File("pool-jwks.json", Jwks(Rsa)).Load(StandardRegistry(authenticatedRole: null));

        var result = verifier.Verify(snapshot, Mint(Rsa, Claims()), Facts);

        Refused(result, IdentityFailure.Unregistered, $"identity pool {Pool} has no authenticated role");
        Assert.Equal(IdentityId, result.CredentialId);
    }

    [Fact]
    public void An_unusable_jwks_file_refuses_the_pool_tokens_with_a_reason()
    {
        var snapshot = registry.File("pool-jwks.json", """{"keys": [{"kty": "oct", "kid": "shared", "k": "c2VjcmV0"}]}""").Load(StandardRegistry());

        Refused(verifier.Verify(snapshot, Mint(Rsa, Claims()), Facts), IdentityFailure.Unregistered,
            $"the jwksFile of identity pool {Pool} is unusable (the JWKS holds no usable RSA or EC signing key (left out: shared))");
    }

    [Fact]
    public void An_RSA_key_shorter_than_2048_bits_is_not_used()
    {
        var weak = TestKey.Rsa("weak", bits: 1024);
        var snapshot = registry.File("pool-jwks.json", Jwks(weak, Rsa)).Load(StandardRegistry());

        Refused(verifier.Verify(snapshot, Mint(weak, Claims()), Facts), IdentityFailure.Unregistered, $"key weak is not in the jwksFile of identity pool {Pool}");
        Accepted(verifier.Verify(snapshot, Mint(Rsa, Claims()), Facts));
    }

    [Fact]
    public void Options_that_would_weaken_verification_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new CognitoTokenVerifier(new CognitoVerifierOptions { Algorithms = new HashSet<string> { "RS256", "HS256" } }));
        Assert.Throws<ArgumentException>(() => new CognitoTokenVerifier(new CognitoVerifierOptions { Algorithms = new HashSet<string> { "none" } }));
        Assert.Throws<ArgumentException>(() => new CognitoTokenVerifier(new CognitoVerifierOptions { Algorithms = new HashSet<string>() }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CognitoTokenVerifier(new CognitoVerifierOptions { ClockSkew = TimeSpan.FromMinutes(6) }));
    }

    [Theory]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", true)]
    [InlineData("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", true)]
    [InlineData("", false)]
    [InlineData("Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", false)]
    [InlineData("AKIAIOSFODNN7EXAMPLE", false)]
    [InlineData("abc.def.ghi", false)]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0", false)]
    [InlineData("eyJhbGciOiJSUzI1NiJ9..c2ln", false)]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2l+", false)]
    public void LooksLikeJwt_tells_a_signed_JWT_by_its_shape(string value, bool expected)
    {
        Assert.Equal(expected, CognitoTokenVerifier.LooksLikeJwt(value));
    }
}
