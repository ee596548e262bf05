using System.Text;
using ExtAuthz.Identity.SigV4;
using ExtAuthz.Policy;
using ExtAuthz.Registry;
using Microsoft.Extensions.Time.Testing;

namespace ExtAuthz.Identity.Tests.SigV4;

/// <summary>Requests signed by the AWS SDK for .NET verify, in both forms, as users and as role sessions.</summary>
public sealed class SdkSigningTests : IDisposable
{
    private const string Topic = "arn:aws:iot:us-east-1:123456789012:topic/sensors/sensor-1";

    private static readonly ConnectionFacts Facts = new() { SourceIp = "10.0.0.7" };

    private readonly IamRegistry registry = new();
    private readonly SigV4Verifier verifier = new(time: new FakeTimeProvider(SdkSigner.SignedAt));

    public void Dispose() => registry.Dispose();

    [Fact]
    public void A_users_signed_get_is_the_user()
    {
        var request = IamRegistry.User.Sign("GET", "/retainedMessage/sensors/sensor-1", new Dictionary<string, string> { ["qos"] = "1" });

        var result = verifier.Verify(registry.Snapshot, request, Facts);

        Assert.True(result.Succeeded, result.FailureReason);
        Assert.Equal(IdentityFailure.None, result.Failure);
        Assert.Equal(IamRegistry.UserKey, result.CredentialId);
        Assert.Equal(PrincipalKind.IamUser, result.Subject!.Kind);
        Assert.Equal("alice", result.Subject.PrincipalId);
        Assert.Equal("arn:aws:iam::123456789012:user/alice", result.Subject.PrincipalArn);
        Assert.Equal(DecisionKind.Allowed, result.Subject.Decide("iot:Publish", Topic).Kind);
        Assert.NotEqual(DecisionKind.Allowed, result.Subject.Decide("iot:Subscribe", Topic).Kind);
    }

    [Fact]
    public void A_signed_post_with_a_body_verifies_when_the_body_is_passed_on()
    {
        var body = Encoding.UTF8.GetBytes("""{"temperature": 21.5}""");
        var request = IamRegistry.User.Sign("POST", "/topics/sensors/sensor-1", new Dictionary<string, string> { ["qos"] = "1", ["retain"] = "true" },
            new Dictionary<string, string> { ["Content-Type"] = "application/json" }, body);

        var result = verifier.Verify(registry.Snapshot, request, Facts);

        Assert.True(result.Succeeded, result.FailureReason);
    }

    [Theory]
    [InlineData("/topics/a b/c")]
    [InlineData("/topics/caf\u00e9/\u30bb\u30f3\u30b5\u30fc")]
    [InlineData("/things/thing:1/shadow")]
    [InlineData("/topics/100%25/x")]
    public void Paths_that_need_encoding_verify(string path)
    {
        var request = IamRegistry.User.Sign("POST", path, new Dictionary<string, string> { ["qos"] = "0" }, body: [1, 2, 3]);

        var result = verifier.Verify(registry.Snapshot, request, Facts);

        Assert.True(result.Succeeded, $"{request.RawPath}: {result.FailureReason}");
    }

    [Theory]
    [InlineData("/topics/{topic}", "{topic}", "$aws/things/sensor-1/shadow/update")]
    [InlineData("/topics/{topic}", "{topic}", "a+b/(c)*!'/d e")]
    [InlineData("/things/{thingName}/shadow", "{thingName}", "sensor:1")]
    public void Labels_the_sdk_encodes_in_full_verify(string path, string label, string value)
    {
        var request = IamRegistry.User.Sign("POST", path, new Dictionary<string, string> { ["qos"] = "1" }, body: [1], pathResources: new Dictionary<string, string> { [label] = value });

        var result = verifier.Verify(registry.Snapshot, request, Facts);

        Assert.True(result.Succeeded, $"{request.RawPath}: {result.FailureReason}");
    }

    [Fact]
    public void Query_values_that_need_encoding_verify()
    {
        var request = IamRegistry.User.Sign("GET", "/things/t1/shadow", new Dictionary<string, string>
        {
            ["name"] = "a b+c/d=e&f",
            ["Zed"] = "\u00e9",
            ["alpha"] = "",
            ["~tilde"] = "*",
        });

        var result = verifier.Verify(registry.Snapshot, request, Facts);

        Assert.True(result.Succeeded, $"{request.RawPath}: {result.FailureReason}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Repeated_and_padded_headers_verify_in_both_of_Envoys_shapes(bool joinRepeated)
    {
        var request = IamRegistry.User.Sign("GET", "/things/t1/shadow", headers: new Dictionary<string, string>
        {
            ["X-Repeated"] = "one,two,three",
            ["X-Padded"] = "  a   lot\tof   space  ",
        }, joinRepeated: joinRepeated, sentSeparately: "X-Repeated");

        Assert.Equal(joinRepeated ? 1 : 3, request.Headers.Count(h => h.Key == "x-repeated"));
        var result = verifier.Verify(registry.Snapshot, request, Facts);

        Assert.True(result.Succeeded, result.FailureReason);
    }

    [Fact]
    public void A_role_session_with_its_token_is_the_role()
    {
        var request = IamRegistry.Session.Sign("POST", "/topics/sensors/sensor-1", body: [42]);

        var result = verifier.Verify(registry.Snapshot, request, Facts);

        Assert.True(result.Succeeded, result.FailureReason);
        Assert.Equal(IamRegistry.SessionKey, result.CredentialId);
        Assert.Equal(PrincipalKind.IamRole, result.Subject!.Kind);
        Assert.Equal("arn:aws:iam::123456789012:role/DeviceRole", result.Subject.PrincipalArn);
        Assert.Equal(DecisionKind.Allowed, result.Subject.Decide("iot:Publish", Topic).Kind);
    }

    [Fact]
    public void A_presigned_websocket_url_verifies()
    {
        var signer = IamRegistry.User with { Service = "iotdevicegateway" };
        var request = signer.Presign("GET", "/mqtt", headers: new Dictionary<string, string> { ["Upgrade"] = "websocket" });

        var result = verifier.Verify(registry.Snapshot, request, Facts);

        Assert.True(result.Succeeded, result.FailureReason);
        Assert.Contains("X-Amz-Expires=3600", request.RawPath, StringComparison.Ordinal);
        Assert.Equal("alice", result.Subject!.PrincipalId);
    }

    [Fact]
    public void A_presigned_url_without_an_expiry_is_valid_within_the_clock_skew()
    {
        var signer = IamRegistry.User with { Service = "iotdevicegateway" };
        var request = signer.Presign("GET", "/mqtt", expiresSeconds: null);

        Assert.DoesNotContain("X-Amz-Expires", request.RawPath, StringComparison.Ordinal);
        Assert.True(verifier.Verify(registry.Snapshot, request, Facts).Succeeded);
        var later = new SigV4Verifier(time: new FakeTimeProvider(SdkSigner.SignedAt.AddMinutes(6)));
        Assert.Equal(IdentityFailure.Expired, later.Verify(registry.Snapshot, request, Facts).Failure);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_presigned_url_with_a_session_token_verifies_whether_the_token_is_signed_or_appended(bool tokenAfterSigning)
    {
        var signer = IamRegistry.Session with { Service = "iotdevicegateway" };
        var request = signer.Presign("GET", "/mqtt", tokenAfterSigning: tokenAfterSigning);

        var result = verifier.Verify(registry.Snapshot, request, Facts);

        Assert.True(result.Succeeded, result.FailureReason);
        Assert.Equal(PrincipalKind.IamRole, result.Subject!.Kind);
    }

    [Fact]
    public void A_presigned_url_that_leaves_its_body_unsigned_is_refused()
    {
        // The SDK's presigner always signs an empty payload; AWS's test suite (post-x-www-form-urlencoded)
        // signs the body, and so must a request whose body the upstream will act on.
        var request = IamRegistry.User.Presign("POST", "/topics/sensors/sensor-1", new Dictionary<string, string> { ["qos"] = "1" }, body: Encoding.UTF8.GetBytes("21.5"));

        var result = verifier.Verify(registry.Snapshot, request, Facts);

        Assert.Equal(IdentityFailure.Malformed, result.Failure);
        Assert.StartsWith("the signature does not match the request", result.FailureReason, StringComparison.Ordinal);
        Assert.True(verifier.Verify(registry.Snapshot, request.WithoutHeader("content-length") with { Body = Array.Empty<byte>() }, Facts).Succeeded);
    }

    [Fact]
    public void A_presigned_url_signed_with_unsigned_payload_verifies_when_there_is_no_body()
    {
        // The SDK presigns S3 URLs with UNSIGNED-PAYLOAD; with no body it signs the same nothing.
        var signer = IamRegistry.User with { Service = "s3" };
        var accepting = new SigV4Verifier(new SigV4Options { Services = new HashSet<string> { "s3" } }, new FakeTimeProvider(SdkSigner.SignedAt));
        var request = signer.Presign("GET", "/mqtt");

        var result = accepting.Verify(registry.Snapshot, request, Facts);

        Assert.True(result.Succeeded, result.FailureReason);
    }

    [Fact]
    public void The_signing_key_is_the_sdks()
    {
        var cache = new SigningKeyCache(4);

        var key = cache.KeyFor(IamRegistry.UserSecret, "20120215", "us-east-1", "iam").ToArray();

        Assert.Equal(Amazon.Runtime.Internal.Auth.AWS4Signer.ComposeSigningKey(IamRegistry.UserSecret, "us-east-1", "20120215", "iam"), key);
        // AWS's worked example of deriving a signing key.
        Assert.Equal("f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d", Convert.ToHexStringLower(key));
    }

    [Fact]
    public void A_full_signing_key_cache_still_verifies()
    {
        var tiny = new SigV4Verifier(new SigV4Options { SigningKeyCacheCapacity = 1 }, new FakeTimeProvider(SdkSigner.SignedAt));
        var user = IamRegistry.User.Sign("GET", "/things/t1/shadow");
        var session = IamRegistry.Session.Sign("GET", "/things/t1/shadow");

        for (var i = 0; i < 3; i++)
        {
            Assert.True(tiny.Verify(registry.Snapshot, user, Facts).Succeeded);
            Assert.True(tiny.Verify(registry.Snapshot, session, Facts).Succeeded);
        }
    }
}
