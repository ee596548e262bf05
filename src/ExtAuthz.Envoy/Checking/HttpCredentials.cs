using System.Text;
using Envoy.Service.Auth.V3;
using ExtAuthz.Identity.SigV4;

namespace ExtAuthz.Envoy.Checking;

/// <summary>The credentials an HTTP request on 443 may carry besides a certificate: a bearer token, or a SigV4 signature.</summary>
internal static class HttpCredentials
{
    private const string BearerPrefix = "Bearer ";

    /// <summary>
    /// The token of <c>Authorization: Bearer …</c>, else of the query parameter <paramref name="queryParameter"/>
    /// (browsers cannot set headers on a WebSocket upgrade), percent-decoded once; null when there is none.
    /// </summary>
    public static string? BearerToken(AttributeContext.Types.HttpRequest http, string path, string? queryParameter)
    {
        var authorization = EnvoyAttributes.Header(http, "authorization", out _, out _);
        if (authorization is not null && authorization.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return authorization[BearerPrefix.Length..].Trim();
        }

        if (queryParameter is null)
        {
            return null;
        }

        var query = path.IndexOf('?', StringComparison.Ordinal);
        if (query < 0)
        {
            return null;
        }

        foreach (var pair in path.AsSpan(query + 1).Split('&'))
        {
            var parameter = path.AsSpan(query + 1)[pair];
            var equals = parameter.IndexOf('=');
            if (equals > 0 && parameter[..equals].SequenceEqual(queryParameter))
            {
                return Uri.UnescapeDataString(parameter[(equals + 1)..].ToString());
            }
        }

        return null;
    }

    /// <summary>The request as a SigV4 signature covers it, from what Envoy forwarded.</summary>
    public static SignedHttpRequest Signed(AttributeContext.Types.HttpRequest http, string method, string path)
    {
        var headers = new List<KeyValuePair<string, string>>(http.Headers.Count > 0 ? http.Headers.Count : http.HeaderMap?.Headers.Count ?? 0);
        if (http.Headers.Count > 0)
        {
            foreach (var header in http.Headers)
            {
                headers.Add(new(header.Key, header.Value));
            }
        }
        else if (http.HeaderMap is not null)
        {
            foreach (var header in http.HeaderMap.Headers)
            {
                headers.Add(new(header.Key.ToLowerInvariant(), header.RawValue.IsEmpty ? header.Value : Encoding.UTF8.GetString(header.RawValue.Span)));
            }
        }

        var host = !string.IsNullOrEmpty(http.Host) ? http.Host : EnvoyAttributes.Header(http, ":authority", out _, out _) ?? string.Empty;
        return new SignedHttpRequest(method, path, host, headers, Body(http));
    }

    /// <summary>
    /// The body when Envoy sent it (<c>with_request_body</c>: then it adds <c>x-envoy-auth-partial-body</c>),
    /// an empty body when the headers say there is none, else null (not buffered: the signature's
    /// <c>x-amz-content-sha256</c> must speak for it).
    /// </summary>
    private static ReadOnlyMemory<byte>? Body(AttributeContext.Types.HttpRequest http)
    {
        if (!http.RawBody.IsEmpty)
        {
            return http.RawBody.Memory;
        }

        if (!string.IsNullOrEmpty(http.Body))
        {
            return Encoding.UTF8.GetBytes(http.Body);
        }

        var buffered = EnvoyAttributes.Header(http, "x-envoy-auth-partial-body", out _, out _) is not null;
        var length = EnvoyAttributes.Header(http, "content-length", out _, out _);
        var chunked = EnvoyAttributes.Header(http, "transfer-encoding", out _, out _) is not null;
        return buffered || (!chunked && (length is null || length == "0")) ? ReadOnlyMemory<byte>.Empty : null;
    }
}
