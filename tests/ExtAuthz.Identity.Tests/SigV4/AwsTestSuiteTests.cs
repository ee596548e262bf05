using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using ExtAuthz.Identity.SigV4;
using ExtAuthz.Registry;
using Microsoft.Extensions.Time.Testing;

namespace ExtAuthz.Identity.Tests.SigV4;

/// <summary>
/// AWS's SigV4 test suite: every case verifies in both forms and with repeated headers in both of
/// Envoy's shapes, and the canonical request the verifier builds is the suite's (its SHA-256 is in the
/// string to sign that a refusal quotes).
/// </summary>
public sealed class AwsTestSuiteTests
{
    private static readonly IamPrincipal Owner = new(IamPrincipalKind.User, "example", "arn:aws:iam::123456789012:user/example", [], [], new ConfigSource("test", 0, 0));

    private readonly SigV4Verifier verifier = new(new SigV4Options { Services = new HashSet<string> { "service" } }, new FakeTimeProvider(SuiteCase.SignedAt));

    public static TheoryData<string, bool> Cases()
    {
        var data = new TheoryData<string, bool>();
        foreach (var suiteCase in SuiteCase.All)
        {
            data.Add(suiteCase.Name, false);
            data.Add(suiteCase.Name, true);
        }

        return data;
    }

    /// <summary>
    /// A refusal quotes the first form tried, which leaves the session token out of the canonical query
    /// (AWS IoT's form); the cases that sign it in are checked by verifying alone.
    /// </summary>
    public static TheoryData<string, bool> PresignedCasesWithoutSignedToken()
    {
        var data = new TheoryData<string, bool>();
        foreach (var suiteCase in SuiteCase.All.Where(c => !c.QueryCanonical.Contains("X-Amz-Security-Token", StringComparison.Ordinal)))
        {
            data.Add(suiteCase.Name, false);
            data.Add(suiteCase.Name, true);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_authorization_header_form_verifies(string name, bool joinRepeated)
    {
        var suiteCase = SuiteCase.Named(name);
        var request = HttpText.Parse(suiteCase.HeaderSigned, joinRepeated);

        var (key, failure) = Authenticate(suiteCase, request);

        Assert.True(key is not null, failure.FailureReason);
        Assert.Equal(SuiteCase.AccessKeyId, key!.Id);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_presigned_form_verifies(string name, bool joinRepeated)
    {
        var suiteCase = SuiteCase.Named(name);
        var request = HttpText.Parse(suiteCase.QuerySigned, joinRepeated);

        var (key, failure) = Authenticate(suiteCase, request);

        Assert.True(key is not null, failure.FailureReason);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_authorization_header_form_canonicalises_as_the_suite_does(string name, bool joinRepeated)
    {
        var suiteCase = SuiteCase.Named(name);
        var signed = HttpText.Parse(suiteCase.HeaderSigned, joinRepeated);
        var authorization = signed.Header("authorization");
        var request = signed.WithHeader("authorization", authorization[..^64] + new string('0', 64));

        var (key, failure) = Authenticate(suiteCase, request);

        Assert.Null(key);
        Assert.Equal(IdentityFailure.Malformed, failure.Failure);
        Assert.Contains($"\\n{Sha256Hex(suiteCase.HeaderCanonical)}\"", failure.FailureReason, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(PresignedCasesWithoutSignedToken))]
    public void The_presigned_form_canonicalises_as_the_suite_does(string name, bool joinRepeated)
    {
        var suiteCase = SuiteCase.Named(name);
        var signed = HttpText.Parse(suiteCase.QuerySigned, joinRepeated);
        var signature = signed.RawPath.IndexOf("X-Amz-Signature=", StringComparison.Ordinal) + "X-Amz-Signature=".Length;
        var request = signed with { RawPath = signed.RawPath[..signature] + new string('0', 64) + signed.RawPath[(signature + 64)..] };

        var (key, failure) = Authenticate(suiteCase, request);

        Assert.Null(key);
        Assert.Contains($"\\n{Sha256Hex(suiteCase.QueryCanonical)}\"", failure.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_string_to_sign_is_the_suites()
    {
        var suiteCase = SuiteCase.Named("get-vanilla");
        var header = HttpText.Parse(suiteCase.HeaderSigned);
        var query = HttpText.Parse(suiteCase.QuerySigned);

        var (_, headerFailure) = Authenticate(suiteCase, header.WithHeader("authorization", header.Header("authorization")[..^64] + new string('0', 64)));
        var (_, queryFailure) = Authenticate(suiteCase, query with { RawPath = query.RawPath[..^64] + new string('0', 64) });

        // get-vanilla's header-string-to-sign.txt and query-string-to-sign.txt.
        Assert.Contains("\"AWS4-HMAC-SHA256\\n20150830T123600Z\\n20150830/us-east-1/service/aws4_request\\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63\"",
            headerFailure.FailureReason, StringComparison.Ordinal);
        Assert.Contains("\"AWS4-HMAC-SHA256\\n20150830T123600Z\\n20150830/us-east-1/service/aws4_request\\nbb7705b4aa3cb8e8f5e1e0b3d4c0b64030797a313c8ceee43e33117cc43eadc5\"",
            queryFailure.FailureReason, StringComparison.Ordinal);
    }

    private (AccessKeyRecord? Key, IdentityResult Failure) Authenticate(SuiteCase suiteCase, SignedHttpRequest request)
    {
        var keys = new Dictionary<string, AccessKeyRecord>
        {
            [SuiteCase.AccessKeyId] = new(SuiteCase.AccessKeyId, SuiteCase.Secret, Owner, Owner.Source, suiteCase.Token),
        }.ToFrozenDictionary(StringComparer.Ordinal);
        return verifier.Authenticate(request, "us-east-1", keys);
    }

    private static string Sha256Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
