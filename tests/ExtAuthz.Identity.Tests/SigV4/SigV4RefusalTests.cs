using System.Text;
using Amazon.Runtime;
using Amazon.Runtime.Internal.Auth;
using ExtAuthz.Identity.SigV4;
using ExtAuthz.Registry;
using Microsoft.Extensions.Time.Testing;

namespace ExtAuthz.Identity.Tests.SigV4;

/// <summary>Every way a signed request is refused says which, and never quotes a secret or a session token.</summary>
public sealed class SigV4RefusalTests : IDisposable
{
    private const string Mismatch = "the signature does not match the request";
    private const string Scope = "20250601/us-east-1/iotdata/aws4_request";

    private static readonly ConnectionFacts Facts = new() { SourceIp = "10.0.0.7" };
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"temperature": 21.5}""");

    private readonly IamRegistry registry = new();
    private readonly SigV4Verifier verifier = new(time: new FakeTimeProvider(SdkSigner.SignedAt));

    public void Dispose() => registry.Dispose();

    private static SignedHttpRequest Publish(SdkSigner? signer = null, bool joinRepeated = false) =>
        (signer ?? IamRegistry.User).Sign("POST", "/topics/sensors/sensor-1", new Dictionary<string, string> { ["qos"] = "1" },
            new Dictionary<string, string> { ["Content-Type"] = "application/json" }, Body, joinRepeated: joinRepeated);

    private static SignedHttpRequest WebSocket(SdkSigner? signer = null, int? expiresSeconds = 3600) =>
        (signer ?? IamRegistry.User with { Service = "iotdevicegateway" }).Presign("GET", "/mqtt", expiresSeconds: expiresSeconds);

    private static string AuthorizationWith(string credential, string signedHeaders = "content-type;host;x-amz-content-sha256;x-amz-date", string signature = "") =>
        $"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={signedHeaders}, Signature={(signature.Length > 0 ? signature : new string('a', 64))}";

    private IdentityResult Refused(SignedHttpRequest request, IdentityFailure failure, string reason, SigV4Verifier? by = null)
    {
        var result = (by ?? verifier).Verify(registry.Snapshot, request, Facts);

        Assert.False(result.Succeeded);
        Assert.Equal(failure, result.Failure);
        Assert.Contains(reason, result.FailureReason, StringComparison.Ordinal);
        foreach (var secret in new[] { IamRegistry.UserSecret, IamRegistry.SessionSecret, IamRegistry.SessionToken })
        {
            Assert.DoesNotContain(secret, result.FailureReason, StringComparison.Ordinal);
        }

        return result;
    }

    [Fact]
    public void The_untouched_request_verifies()
    {
        Assert.True(verifier.Verify(registry.Snapshot, Publish(), Facts).Succeeded);
        Assert.True(verifier.Verify(registry.Snapshot, WebSocket(), Facts).Succeeded);
    }

    public static TheoryData<string> Tamperings() => [.. Tampered.Keys];

    private static readonly Dictionary<string, Func<SignedHttpRequest, SignedHttpRequest>> Tampered = new()
    {
        ["method"] = r => r with { Method = "PUT" },
        ["path"] = r => r with { RawPath = r.RawPath.Replace("sensor-1", "sensor-2", StringComparison.Ordinal) },
        ["query value"] = r => r with { RawPath = r.RawPath.Replace("qos=1", "qos=0", StringComparison.Ordinal) },
        ["query parameter added"] = r => r with { RawPath = r.RawPath + "&retain=true" },
        ["signed header"] = r => r.WithHeader("content-type", "text/plain"),
        ["host"] = r => r with { Host = "attacker.example.com" },
        ["date within the skew"] = r => r.WithHeader("x-amz-date", "20250601T120001Z"),
        ["signed header list"] = r => r.WithHeader("authorization", r.Header("authorization").Replace("content-type;", "", StringComparison.Ordinal)),
        ["signature"] = r => r.WithHeader("authorization", r.Header("authorization")[..^1] + (r.Header("authorization")[^1] == '0' ? "1" : "0")),
    };

    [Theory]
    [MemberData(nameof(Tamperings))]
    public void A_request_changed_after_signing_no_longer_matches(string change)
    {
        var result = Refused(Tampered[change](Publish()), IdentityFailure.Malformed, Mismatch);

        Assert.Equal(IamRegistry.UserKey, result.CredentialId);
        Assert.Contains($"(string to sign: \"AWS4-HMAC-SHA256\\n20250601T12000", result.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_changed_body_is_named_when_its_hash_was_signed()
    {
        var request = Publish() with { Body = Encoding.UTF8.GetBytes("""{"temperature": 99.9}""") };

        Refused(request, IdentityFailure.Malformed, "is not the SHA-256 of the body");
    }

    [Fact]
    public void A_date_on_another_day_than_the_credential_is_named()
    {
        Refused(Publish().WithHeader("x-amz-date", "20250602T120000Z"), IdentityFailure.Malformed,
            "the credential is dated 20250601, but the request's x-amz-date is 20250602T120000Z: they must be the same day");
    }

    [Fact]
    public void A_credential_for_another_region_is_named()
    {
        Refused(Publish(IamRegistry.User with { Region = "eu-west-1" }), IdentityFailure.Malformed,
            "the credential is scoped to region eu-west-1, but this account's region is us-east-1");
    }

    [Fact]
    public void A_credential_for_another_service_is_named()
    {
        Refused(Publish(IamRegistry.User with { Service = "s3" }), IdentityFailure.Malformed,
            "the credential is scoped to service s3, which is not accepted here (iot, iotdata, iotdevicegateway)");
    }

    [Fact]
    public void An_unknown_access_key_is_unregistered()
    {
        var result = Refused(Publish(IamRegistry.User with { AccessKeyId = "AKIAUNKNOWNKEY000000" }), IdentityFailure.Unregistered,
            "access key AKIAUNKNOWNKEY000000 is not registered");

        Assert.Equal("AKIAUNKNOWNKEY000000", result.CredentialId);
    }

    [Fact]
    public void The_clock_skew_is_five_minutes_either_way()
    {
        var request = Publish();
        SigV4Verifier At(TimeSpan offset) => new(time: new FakeTimeProvider(SdkSigner.SignedAt + offset));

        Assert.True(At(TimeSpan.FromMinutes(5)).Verify(registry.Snapshot, request, Facts).Succeeded);
        Assert.True(At(TimeSpan.FromMinutes(-5)).Verify(registry.Snapshot, request, Facts).Succeeded);
        Refused(request, IdentityFailure.Expired,
            "the request is dated 20250601T120000Z (x-amz-date), more than 5 minutes before this server's clock (20250601T120501Z)", At(TimeSpan.FromSeconds(301)));
        Refused(request, IdentityFailure.NotYetValid,
            "the request is dated 20250601T120000Z (x-amz-date), more than 5 minutes after this server's clock (20250601T115459Z)", At(TimeSpan.FromSeconds(-301)));
    }

    [Fact]
    public void A_presigned_url_is_valid_until_its_expiry_and_not_after()
    {
        var request = WebSocket(expiresSeconds: 900);
        SigV4Verifier At(TimeSpan offset) => new(time: new FakeTimeProvider(SdkSigner.SignedAt + offset));

        Assert.True(At(TimeSpan.FromMinutes(15)).Verify(registry.Snapshot, request, Facts).Succeeded);
        Refused(request, IdentityFailure.Expired,
            "the presigned URL expired at 20250601T121500Z (X-Amz-Date 20250601T120000Z plus X-Amz-Expires 900 seconds); this server's clock says 20250601T121501Z",
            At(TimeSpan.FromSeconds(901)));
        Refused(request, IdentityFailure.NotYetValid, "the request is dated 20250601T120000Z (X-Amz-Date), more than 5 minutes after", At(TimeSpan.FromMinutes(-6)));
    }

    [Theory]
    [InlineData("604801", "X-Amz-Expires 604801 must be from 1 to 604800 seconds")]
    [InlineData("0", "X-Amz-Expires 0 must be from 1 to 604800 seconds")]
    [InlineData("1e3", "X-Amz-Expires '1e3' is not a whole number of seconds")]
    [InlineData("-5", "X-Amz-Expires '-5' is not a whole number of seconds")]
    public void A_presigned_urls_expiry_must_be_at_most_seven_days(string expires, string reason)
    {
        var request = WebSocket();

        Refused(request with { RawPath = request.RawPath.Replace("X-Amz-Expires=3600", "X-Amz-Expires=" + expires, StringComparison.Ordinal) }, IdentityFailure.Malformed, reason);
    }

    [Fact]
    public void A_shorter_maximum_expiry_can_be_configured()
    {
        var strict = new SigV4Verifier(new SigV4Options { MaxPresignedExpiry = TimeSpan.FromMinutes(30) }, new FakeTimeProvider(SdkSigner.SignedAt));

        Refused(WebSocket(), IdentityFailure.Malformed, "X-Amz-Expires 3600 must be from 1 to 1800 seconds", strict);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SigV4Verifier(new SigV4Options { MaxPresignedExpiry = TimeSpan.FromDays(8) }));
    }

    [Theory]
    [InlineData("AWS4-HMAC-SHA256", "the Authorization header must be 'AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…'")]
    [InlineData("AWS4-HMAC-SHA256Credential=x", "the Authorization header must be 'AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…'")]
    [InlineData("AWS4-ECDSA-P256-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250601/iotdata/aws4_request, SignedHeaders=host, Signature=3045",
        "the Authorization header's algorithm AWS4-ECDSA-P256-SHA256 is not supported: only AWS4-HMAC-SHA256")]
    [InlineData("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250601/us-east-1/iotdata/aws4_request, SignedHeaders=host;x-amz-date",
        "the Authorization header has no Signature")]
    [InlineData("AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=00", "the Authorization header has no Credential")]
    [InlineData("AWS4-HMAC-SHA256 Credential, SignedHeaders=host, Signature=00", "'Credential' in the Authorization header is not Name=value")]
    [InlineData("AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=00", "the credential 'a/b' is not AccessKeyId/yyyyMMdd/region/service/aws4_request")]
    [InlineData("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/2025-06-01/us-east-1/iotdata/aws4_request, SignedHeaders=host, Signature=00",
        "is not AccessKeyId/yyyyMMdd/region/service/aws4_request")]
    [InlineData("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250601/us-east-1/iotdata/aws5_request, SignedHeaders=host, Signature=00",
        "the credential scope ends in 'aws5_request', not aws4_request")]
    [InlineData("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250601/us-east-1/iotdata/aws4_request, Foo=bar, SignedHeaders=host, Signature=00",
        "the Authorization header has an unknown component 'Foo'")]
    [InlineData("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250601/us-east-1/iotdata/aws4_request, Signature=00, SignedHeaders=host, Signature=00",
        "the Authorization header has Signature twice")]
    public void A_malformed_authorization_header_is_named(string authorization, string reason)
    {
        Refused(Publish().WithHeader("authorization", authorization), IdentityFailure.Malformed, reason);
    }

    [Theory]
    [InlineData("x-amz-date;host", "must list each name once, sorted")]
    [InlineData("host;host;x-amz-date", "must list each name once, sorted")]
    [InlineData("Host;X-Amz-Date", "must be lower-case header names separated by ';'")]
    [InlineData("host;;x-amz-date", "must be lower-case header names separated by ';'")]
    [InlineData("x-amz-date", "must include host (AWS requires the host header to be signed)")]
    [InlineData("content-type;host", "SignedHeaders must include x-amz-date, the header that dates the request")]
    public void Signed_headers_must_be_sorted_lower_case_and_include_host_and_the_date(string signedHeaders, string reason)
    {
        Refused(Publish().WithHeader("authorization", AuthorizationWith($"{IamRegistry.UserKey}/{Scope}", signedHeaders)), IdentityFailure.Malformed, reason);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("zz4d0f2a9b3c1e5f7a8b6c4d2e0f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3e5f")]
    public void A_signature_that_is_not_64_hex_digits_is_malformed(string signature)
    {
        Refused(Publish().WithHeader("authorization", AuthorizationWith($"{IamRegistry.UserKey}/{Scope}", signature: signature)), IdentityFailure.Malformed,
            "the signature is not 64 hex digits");
    }

    [Fact]
    public void Several_authorization_headers_are_refused_in_both_of_Envoys_shapes()
    {
        var request = Publish();
        var authorization = request.Header("authorization");

        Refused(request.WithHeaders(h => h.Append(new("authorization", authorization))), IdentityFailure.Malformed, "the request has 2 Authorization headers");
        Refused(request.WithHeader("authorization", authorization + "," + authorization), IdentityFailure.Malformed,
            "the request has several Authorization headers (joined with commas)");
    }

    [Fact]
    public void A_request_signed_both_ways_is_refused()
    {
        var request = Publish();

        Refused(request with { RawPath = request.RawPath + "&X-Amz-Algorithm=AWS4-HMAC-SHA256" }, IdentityFailure.Malformed, "the request is signed twice");
    }

    [Fact]
    public void The_date_header_must_be_there_once_and_well_formed()
    {
        var request = Publish();

        Refused(request.WithoutHeader("x-amz-date"), IdentityFailure.Malformed, "the request has neither an x-amz-date nor a date header, so the signature has no time");
        Refused(request.WithHeader("x-amz-date", "2025-06-01T12:00:00Z"), IdentityFailure.Malformed, "x-amz-date '2025-06-01T12:00:00Z' is not a time like 20150830T123600Z");
        Refused(request.WithHeaders(h => h.Append(new("x-amz-date", "20250601T120000Z"))), IdentityFailure.Malformed, "the request has several x-amz-date headers");
        Refused(request.WithHeader("x-amz-date", "20250601T120000Z,20250601T120000Z"), IdentityFailure.Malformed, "the request has several x-amz-date headers");
    }

    [Fact]
    public void The_standard_date_header_dates_a_request_without_x_amz_date()
    {
        // The canonical request written out by hand; the SDK computes the string to sign and the HMAC.
        const string SignedHeaders = "date;host";
        var canonical = $"GET\n/things/t1/shadow\n\ndate:Sun, 01 Jun 2025 12:00:00 GMT\nhost:{SdkSigner.Host}\n\n{SignedHeaders}\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        var signature = AWS4Signer.ComputeSignature(new ImmutableCredentials(IamRegistry.UserKey, IamRegistry.UserSecret, null), "us-east-1", SdkSigner.SignedAt,
            "iotdata", SignedHeaders, canonical).Signature;
        var request = HttpText.Shape("GET", "/things/t1/shadow",
        [
            new("host", SdkSigner.Host),
            new("date", "Sun, 01 Jun 2025 12:00:00 GMT"),
            new("authorization", AuthorizationWith($"{IamRegistry.UserKey}/{Scope}", SignedHeaders, signature)),
        ], null, joinRepeated: false);

        var result = verifier.Verify(registry.Snapshot, request, Facts);

        Assert.True(result.Succeeded, result.FailureReason);
        Refused(request.WithHeader("date", "Sunday, June 1st"), IdentityFailure.Malformed, "the date header 'Sunday, June 1st' is not an HTTP date");
        Refused(request.WithHeaders(h => h.Append(new("date", "Sun, 01 Jun 2025 12:00:00 GMT"))), IdentityFailure.Malformed, "the request has several date headers");
        Refused(request.WithHeader("authorization", AuthorizationWith($"{IamRegistry.UserKey}/{Scope}", "host", signature)), IdentityFailure.Malformed,
            "SignedHeaders must include date, the header that dates the request");
    }

    [Fact]
    public void No_signature_at_all_is_missing()
    {
        var request = Publish().WithoutHeader("authorization");

        Assert.False(SigV4Verifier.IsSigV4(request));
        Refused(request, IdentityFailure.Missing, "no SigV4 signature: no Authorization header and no X-Amz-Algorithm query parameter");
        var bearer = request.WithHeader("authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln");
        Assert.False(SigV4Verifier.IsSigV4(bearer));
        var result = Refused(bearer, IdentityFailure.Missing, "the Authorization header's scheme is Bearer, not AWS4-HMAC-SHA256");
        Assert.DoesNotContain("eyJ", result.FailureReason, StringComparison.Ordinal);
        var bare = Refused(request.WithHeader("authorization", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"), IdentityFailure.Missing,
            "the Authorization header's scheme is another, not AWS4-HMAC-SHA256");
        Assert.DoesNotContain("eyJ", bare.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Is_sigv4_recognises_both_forms_and_other_aws4_algorithms()
    {
        Assert.True(SigV4Verifier.IsSigV4(Publish()));
        Assert.True(SigV4Verifier.IsSigV4(WebSocket()));
        Assert.True(SigV4Verifier.IsSigV4(Publish().WithHeader("authorization", "AWS4-ECDSA-P256-SHA256 Credential=x")));
        Assert.True(SigV4Verifier.IsSigV4(Publish().WithoutHeader("authorization") with { RawPath = "/mqtt?X%2DAmz-Algorithm=AWS4-HMAC-SHA256" }));
    }

    [Theory]
    [InlineData("X-Amz-Signature=", "", "the presigned URL has no X-Amz-Signature")]
    [InlineData("X-Amz-Date=", "X-Amz-Date=20250601T120000Z&X-Amz-Date=", "X-Amz-Date appears 2 times in the query")]
    [InlineData("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256", "X-Amz-Algorithm AWS4-ECDSA-P256-SHA256 is not supported")]
    [InlineData("X-Amz-Credential=", "X-Amz-Credential=%ZZ", "X-Amz-Credential has a malformed percent-escape")]
    [InlineData("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=upgrade", "must include host")]
    public void A_malformed_presigned_url_is_named(string find, string replace, string reason)
    {
        var request = WebSocket();
        var path = replace.Length == 0 ? RemoveParameter(request.RawPath, "X-Amz-Signature") : request.RawPath.Replace(find, replace, StringComparison.Ordinal);

        Refused(request with { RawPath = path }, IdentityFailure.Malformed, reason);
    }

    [Fact]
    public void A_malformed_percent_escape_in_another_parameter_is_named()
    {
        var presigned = WebSocket();
        Refused(presigned with { RawPath = presigned.RawPath + "&clientId=%G1" }, IdentityFailure.Malformed, "the value of query parameter 'clientId' has a malformed percent-escape");
        Refused(presigned with { RawPath = presigned.RawPath + "&client%4=1" }, IdentityFailure.Malformed, "the query parameter name 'client%4' has a malformed percent-escape");
    }

    [Fact]
    public void A_role_session_needs_its_own_token()
    {
        var withoutToken = IamRegistry.Session with { SessionToken = null };
        var wrongToken = IamRegistry.Session with { SessionToken = "AQoDYXdzEPT//////////wEXAMPLE" };

        Refused(Publish(withoutToken), IdentityFailure.Malformed,
            "access key ASIAIOSFODNN7EXAMPLE is temporary (a session of role DeviceRole): the request must carry its session token (x-amz-security-token)");
        Refused(Publish(wrongToken), IdentityFailure.Malformed, "the session token (x-amz-security-token) is not access key ASIAIOSFODNN7EXAMPLE's");
        Refused(WebSocket(wrongToken with { Service = "iotdevicegateway" }), IdentityFailure.Malformed,
            "the session token (X-Amz-Security-Token) is not access key ASIAIOSFODNN7EXAMPLE's");
    }

    [Fact]
    public void A_long_term_key_takes_no_session_token()
    {
        Refused(Publish(IamRegistry.User with { SessionToken = IamRegistry.SessionToken }), IdentityFailure.Malformed,
            "access key AKIAIOSFODNN7EXAMPLE is a long-term key, but the request carries a session token (x-amz-security-token)");
    }

    [Fact]
    public void An_expired_role_session_is_expired()
    {
        using var expired = new IamRegistry(sessionExpiration: "2025-06-01T11:59:59Z");

        var result = verifier.Verify(expired.Snapshot, Publish(IamRegistry.Session), Facts);

        Assert.Equal(IdentityFailure.Expired, result.Failure);
        Assert.Equal("access key ASIAIOSFODNN7EXAMPLE is a session of role DeviceRole that expired at 20250601T115959Z", result.FailureReason);
    }

    [Fact]
    public void A_body_the_proxy_did_not_pass_on_whole_is_named()
    {
        var request = Publish();

        Refused(request with { Body = null }, IdentityFailure.Malformed,
            $"the request has a body (content-length {Body.Length}) that the proxy did not pass on, and the signature covers it");
        Refused(request.WithoutHeader("content-length").WithHeader("transfer-encoding", "chunked") with { Body = null }, IdentityFailure.Malformed,
            "the request has a body (transfer-encoding) that the proxy did not pass on");
        Refused(request with { Body = Body.AsMemory(0, 5) }, IdentityFailure.Malformed, $"the proxy passed on 5 of the body's {Body.Length} bytes, and the signature covers all of them");
        Refused(request.WithoutHeader("content-length") with { Body = null }, IdentityFailure.Malformed,
            "is not the SHA-256 of the body (e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855); the proxy passed on no body, so it was taken as empty");
    }

    [Theory]
    [InlineData("UNSIGNED-PAYLOAD", "x-amz-content-sha256: UNSIGNED-PAYLOAD would leave the 21-byte body unsigned; only S3 accepts that")]
    [InlineData("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "is S3's chunked signing, which is not supported here")]
    [InlineData("not-a-hash", "x-amz-content-sha256 'not-a-hash' is neither a hex SHA-256 nor UNSIGNED-PAYLOAD")]
    [InlineData("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855,e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "the request has several x-amz-content-sha256 headers")]
    public void The_declared_payload_hash_must_sign_the_body(string declared, string reason)
    {
        Assert.Equal(21, Body.Length);
        Refused(Publish().WithHeader("x-amz-content-sha256", declared), IdentityFailure.Malformed, reason);
    }

    [Fact]
    public void Unsigned_payload_is_accepted_where_there_is_no_body()
    {
        var request = (IamRegistry.User with { UnsignedPayload = true }).Sign("GET", "/things/t1/shadow");

        var result = verifier.Verify(registry.Snapshot, request, Facts);

        Assert.Equal("UNSIGNED-PAYLOAD", request.Header("x-amz-content-sha256"));
        Assert.True(result.Succeeded, result.FailureReason);
    }

    [Fact]
    public void A_signed_header_the_proxy_dropped_is_named()
    {
        Refused(Publish().WithoutHeader("content-type"), IdentityFailure.Malformed,
            "the signed header 'content-type' is not in the request (a proxy that filters headers must pass on every signed one)");
    }

    [Fact]
    public void Bad_options_are_refused_when_the_verifier_is_made()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SigV4Verifier(new SigV4Options { MaxClockSkew = TimeSpan.FromSeconds(-1) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SigV4Verifier(new SigV4Options { SigningKeyCacheCapacity = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SigV4Verifier(new SigV4Options { MaxPresignedExpiry = TimeSpan.Zero }));
    }

    private static string RemoveParameter(string rawPath, string name)
    {
        var question = rawPath.IndexOf('?', StringComparison.Ordinal);
        var kept = rawPath[(question + 1)..].Split('&').Where(p => !p.StartsWith(name + "=", StringComparison.Ordinal));
        return rawPath[..(question + 1)] + string.Join('&', kept);
    }
}
