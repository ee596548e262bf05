using System.Text;
using ExtAuthz.Identity.Sessions;
using Microsoft.Extensions.Time.Testing;

namespace ExtAuthz.Identity.Tests;

public sealed class SessionHandlesTests
{
    private static readonly byte[] Key = Encoding.ASCII.GetBytes("0123456789abcdef0123456789abcdef");

    [Fact]
    public void An_issued_handle_verifies_with_its_claims()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 10, 0, 0, TimeSpan.Zero));
        var handles = new SessionHandles(Key, TimeSpan.FromSeconds(60), time);

        var handle = handles.Issue("Certificate", new string('a', 64), "10.0.0.7", "iot.example.com");

        Assert.StartsWith("v1.", handle, StringComparison.Ordinal);
        Assert.True(handles.TryVerify(handle, out var claims, out var reason), reason);
        Assert.Equal(new SessionClaims("Certificate", new string('a', 64), "10.0.0.7", "iot.example.com",
            time.GetUtcNow(), time.GetUtcNow().AddSeconds(60)), claims);
    }

    [Fact]
    public void A_cognito_identity_carries_its_pool()
    {
        var handles = new SessionHandles(Key, TimeSpan.FromMinutes(1));
        Assert.True(handles.TryVerify(handles.Issue("CognitoAuthenticated", "us-east-1:abc", null, null, "us-east-1:pool"), out var claims, out _));
        Assert.Equal("us-east-1:pool", claims!.PoolId);
    }

    [Fact]
    public void Optional_claims_may_be_absent()
    {
        var handles = new SessionHandles(Key, TimeSpan.FromMinutes(1));
        Assert.True(handles.TryVerify(handles.Issue("IamUser", "alice", null, null), out var claims, out _));
        Assert.Null(claims!.SourceIp);
        Assert.Null(claims.DomainName);
        Assert.Null(claims.PoolId);
    }

    [Fact]
    public void A_handle_expires()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddYears(56));
        var handles = new SessionHandles(Key, TimeSpan.FromSeconds(60), time);
        var handle = handles.Issue("Certificate", "c1", null, null);

        time.Advance(TimeSpan.FromSeconds(59));
        Assert.True(handles.TryVerify(handle, out _, out _));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(handles.TryVerify(handle, out var claims, out var reason));
        Assert.Null(claims);
        Assert.Contains("expired", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Another_key_does_not_verify()
    {
        var issued = new SessionHandles(Key, TimeSpan.FromMinutes(1)).Issue("Certificate", "c1", null, null);
        var other = SessionHandles.WithRandomKey(TimeSpan.FromMinutes(1));
        Assert.False(other.TryVerify(issued, out _, out var reason));
        Assert.Contains("does not verify", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Altered_claims_do_not_verify()
    {
        var handles = new SessionHandles(Key, TimeSpan.FromMinutes(1));
        var handle = handles.Issue("Certificate", "c1", null, null);
        var parts = handle.Split('.');
        var forged = parts[0] + "." + System.Buffers.Text.Base64Url.EncodeToString(
            Encoding.UTF8.GetBytes("""{"k":"Certificate","p":"someone-else","iat":0,"exp":99999999999999}""")) + "." + parts[2];

        Assert.False(handles.TryVerify(forged, out _, out var reason));
        Assert.Contains("does not verify", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "no session handle")]
    [InlineData("", "no session handle")]
    [InlineData("v2.abc.def", "not a v1 handle")]
    [InlineData("v1.abc", "not a v1 handle")]
    [InlineData("garbage", "not a v1 handle")]
    [InlineData("v1.abc.!!!", "signature is not base64url")]
    [InlineData("v1.abc.AAAA", "signature is not base64url of 32 bytes")]
    public void Malformed_handles_are_refused_with_a_reason(string? handle, string expected)
    {
        var handles = new SessionHandles(Key, TimeSpan.FromMinutes(1));
        Assert.False(handles.TryVerify(handle, out var claims, out var reason));
        Assert.Null(claims);
        Assert.Contains(expected, reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_oversized_handle_is_refused_before_any_work()
    {
        var handles = new SessionHandles(Key, TimeSpan.FromMinutes(1));
        Assert.False(handles.TryVerify("v1." + new string('A', SessionHandles.MaxHandleLength) + ".x", out _, out var reason));
        Assert.Contains("longer than", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Short_keys_and_non_positive_lifetimes_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new SessionHandles(new byte[31], TimeSpan.FromMinutes(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SessionHandles(Key, TimeSpan.Zero));
    }
}
