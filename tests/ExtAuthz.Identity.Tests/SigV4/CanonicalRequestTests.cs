using System.Text;
using ExtAuthz.Identity.SigV4;

namespace ExtAuthz.Identity.Tests.SigV4;

/// <summary>The canonical URI and query string, piece by piece, beyond what AWS's test suite covers.</summary>
public sealed class CanonicalRequestTests
{
    [Theory]
    [InlineData("", "/")]
    [InlineData("/", "/")]
    [InlineData("//a//b//", "/a/b/")]
    [InlineData("/a/./b/../c", "/a/c")]
    [InlineData("/..", "/")]
    [InlineData("/a/b/..", "/a")]
    [InlineData("/a/b/.", "/a/b")]
    [InlineData("/a%2Fb", "/a%252Fb")]
    [InlineData("/%2e%2e/x", "/%252e%252e/x")]
    [InlineData("/a b", "/a%20b")]
    [InlineData("/\u1234", "/%E1%88%B4")]
    [InlineData("/-._~AZaz09", "/-._~AZaz09")]
    // AWS encodes sub-delimiters sent raw (API Gateway's canonical string for /$default is /%24default).
    [InlineData("/$default/(x)*!'+,;=:@", "/%24default/%28x%29%2A%21%27%2B%2C%3B%3D%3A%40")]
    public void The_path_is_normalised_and_encoded_once_more(string path, string canonical)
    {
        Assert.Equal("GET\n" + canonical + "\n", Write((ref Utf8Buffer b) => CanonicalRequest.AddMethodAndPath(ref b, "GET", path)));
    }

    [Theory]
    [InlineData("b=2&a=1", "a=1&b=2")]
    [InlineData("a=2&a=1&a=10", "a=1&a=10&a=2")]
    [InlineData("flag", "flag=")]
    [InlineData("a=1&&b=2&", "a=1&b=2")]
    [InlineData("a+b=c d", "a%2Bb=c%20d")]
    [InlineData("x=%7e&y=%2f&z=%41", "x=~&y=%2F&z=A")]
    [InlineData("a=1&A=1&_=1&~=1", "A=1&_=1&a=1&~=1")]
    [InlineData("k=\u00e9", "k=%C3%A9")]
    [InlineData("k=a=b", "k=a%3Db")]
    public void The_query_is_decoded_encoded_again_and_sorted(string query, string canonical)
    {
        Assert.Equal(canonical, Write((ref Utf8Buffer b) => Assert.Null(CanonicalRequest.AddQuery(ref b, query, presigned: false, omitToken: false))));
    }

    [Fact]
    public void Many_parameters_sort_as_few_do()
    {
        var names = Enumerable.Range(0, 40).Select(i => $"p{i:D2}").ToArray();
        var query = string.Join('&', names.Reverse().Select(n => n + "=" + n));

        var canonical = Write((ref Utf8Buffer b) => CanonicalRequest.AddQuery(ref b, query, presigned: false, omitToken: false));

        Assert.Equal(string.Join('&', names.Select(n => n + "=" + n)), canonical);
    }

    [Fact]
    public void A_presigned_urls_signature_is_left_out_and_its_token_when_asked()
    {
        const string Query = "X-Amz-Signature=abc&X-Amz-Security-Token=t%2Fo&X-Amz-Date=1";

        Assert.Equal("X-Amz-Date=1&X-Amz-Security-Token=t%2Fo&X-Amz-Signature=abc",
            Write((ref Utf8Buffer b) => CanonicalRequest.AddQuery(ref b, Query, presigned: false, omitToken: false)));
        Assert.Equal("X-Amz-Date=1&X-Amz-Security-Token=t%2Fo", Write((ref Utf8Buffer b) => CanonicalRequest.AddQuery(ref b, Query, presigned: true, omitToken: false)));
        Assert.Equal("X-Amz-Date=1", Write((ref Utf8Buffer b) => CanonicalRequest.AddQuery(ref b, Query, presigned: true, omitToken: true)));
    }

    [Theory]
    [InlineData("a=%zz", "the value of query parameter 'a' has a malformed percent-escape")]
    [InlineData("a=%4", "the value of query parameter 'a' has a malformed percent-escape")]
    [InlineData("%=1", "the query parameter name '%' has a malformed percent-escape")]
    public void A_malformed_escape_is_named(string query, string reason)
    {
        var buffer = new Utf8Buffer(16);
        try
        {
            Assert.Equal(reason, CanonicalRequest.AddQuery(ref buffer, query, presigned: false, omitToken: false));
        }
        finally
        {
            buffer.Dispose();
        }
    }

    private delegate void Writer(ref Utf8Buffer buffer);

    private static string Write(Writer write)
    {
        var buffer = new Utf8Buffer(16);
        try
        {
            write(ref buffer);
            return Encoding.UTF8.GetString(buffer.Written);
        }
        finally
        {
            buffer.Dispose();
        }
    }
}
