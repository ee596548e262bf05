using Amazon.Runtime;
using Amazon.Runtime.Endpoints;
using Amazon.Runtime.Internal;
using Amazon.Runtime.Internal.Auth;
using ExtAuthz.Identity.SigV4;

namespace ExtAuthz.Identity.Tests.SigV4;

/// <summary>
/// Requests signed by the AWS SDK for .NET's own signers (AWSSDK.Core's <see cref="AWS4Signer"/> and
/// <see cref="AWS4PreSignedUrlSigner"/>), then described as Envoy would pass them on: an
/// implementation of SigV4 that is not ours, so agreeing with it is evidence, not a tautology.
/// </summary>
internal sealed record SdkSigner
{
    public const string Host = "a1b2c3d4e5f6g7-ats.iot.us-east-1.amazonaws.com";

    public static readonly DateTime SignedAt = new(2025, 6, 1, 12, 0, 0, DateTimeKind.Utc);

    public required string AccessKeyId { get; init; }

    public required string Secret { get; init; }

    public string? SessionToken { get; init; }

    public string Region { get; init; } = "us-east-1";

    public string Service { get; init; } = "iotdata";

    public DateTime At { get; init; } = SignedAt;

    /// <summary>Sign <c>UNSIGNED-PAYLOAD</c> rather than the body's hash (the SDK's DisablePayloadSigning).</summary>
    public bool UnsignedPayload { get; init; }

    /// <summary>
    /// Signs with the Authorization header. <paramref name="path"/> is the path as the SDK's marshallers
    /// write it: literal text (encoded for the wire as the SDK encodes paths) with <c>{label}</c>s that
    /// <paramref name="pathResources"/> fill in fully encoded, as the SDK does for topics and thing names;
    /// <paramref name="query"/> holds the parameters.
    /// </summary>
    /// <paramref name="sentSeparately"/> names headers whose comma-separated value goes on the wire one
    /// header per value (a signer joins a repeated header's values with commas).
    public SignedHttpRequest Sign(string method, string path, IReadOnlyDictionary<string, string>? query = null,
        IReadOnlyDictionary<string, string>? headers = null, byte[]? body = null, IReadOnlyDictionary<string, string>? pathResources = null,
        bool joinRepeated = false, params string[] sentSeparately)
    {
        var request = Request(method, path, query, headers, body);
        request.DisablePayloadSigning = UnsignedPayload;
        foreach (var (label, value) in pathResources ?? new Dictionary<string, string>())
        {
            request.AddPathResource(label, value);
        }

        if (SessionToken is not null)
        {
            request.Headers["X-Amz-Security-Token"] = SessionToken;
        }

        var result = new AWS4Signer().SignRequest(request, ClientConfiguration(), null, AccessKeyId, Secret, At);
        request.Headers["Authorization"] = result.ForAuthorizationHeader;
        return Describe(request, extraQuery: null, joinRepeated, sentSeparately);
    }

    /// <summary>
    /// A presigned URL. With a session token, <paramref name="tokenAfterSigning"/> appends it after
    /// signing, as AWS IoT asks for MQTT over WebSocket; otherwise it is signed in, as elsewhere.
    /// </summary>
    public SignedHttpRequest Presign(string method, string path, IReadOnlyDictionary<string, string>? query = null, byte[]? body = null,
        int? expiresSeconds = 3600, bool tokenAfterSigning = true, IReadOnlyDictionary<string, string>? headers = null)
    {
        var request = Request(method, path, query, headers, body);
        if (expiresSeconds is { } expires)
        {
            request.Parameters["X-Amz-Expires"] = expires.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (SessionToken is not null && !tokenAfterSigning)
        {
            request.Parameters["X-Amz-Security-Token"] = SessionToken;
        }

        var result = AWS4PreSignedUrlSigner.SignRequest(request, ClientConfiguration(), null, AccessKeyId, Secret, Service, Region, At);
        var extra = result.ForQueryParameters;
        if (SessionToken is not null && tokenAfterSigning)
        {
            extra += "&X-Amz-Security-Token=" + Uri.EscapeDataString(SessionToken);
        }

        return Describe(request, extra, joinRepeated: false, []);
    }

    private static DefaultRequest Request(string method, string path, IReadOnlyDictionary<string, string>? query, IReadOnlyDictionary<string, string>? headers, byte[]? body)
    {
        var request = new DefaultRequest(new EmptyRequest(), "IotData")
        {
            HttpMethod = method,
            Endpoint = new Uri("https://" + Host),
            ResourcePath = path,
            UseQueryString = true,
        };
        foreach (var (name, value) in query ?? new Dictionary<string, string>())
        {
            request.Parameters[name] = value;
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers[name] = value;
        }

        if (body is not null)
        {
            request.Content = body;
        }

        return request;
    }

    private Config ClientConfiguration() => new() { AuthenticationRegion = Region, AuthenticationServiceName = Service };

    /// <summary>What goes on the wire, as Envoy describes it: the SDK's URL, its headers (trimmed, as an HTTP codec leaves them), a content-length for a body.</summary>
    private static SignedHttpRequest Describe(DefaultRequest request, string? extraQuery, bool joinRepeated, string[] sentSeparately)
    {
        var url = AmazonServiceClient.ComposeUrl(request).OriginalString;
        var target = url[("https://" + Host).Length..];
        if (extraQuery is not null)
        {
            target += (target.Contains('?', StringComparison.Ordinal) ? "&" : "?") + extraQuery;
        }

        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (name, value) in request.Headers)
        {
            foreach (var one in sentSeparately.Contains(name, StringComparer.OrdinalIgnoreCase) ? value.Split(',') : [value])
            {
                headers.Add(new(name.ToLowerInvariant(), one.Trim(' ', '\t')));
            }
        }

        if (request.Content is { Length: > 0 } content && !headers.Exists(h => h.Key == "content-length"))
        {
            headers.Add(new("content-length", content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        if (!headers.Exists(h => h.Key == "host"))
        {
            headers.Add(new("host", Host));
        }

        return HttpText.Shape(request.HttpMethod, target, headers, request.Content, joinRepeated);
    }

    private sealed class EmptyRequest : AmazonWebServiceRequest;

    private sealed class Config : ClientConfig
    {
        public Config()
            : base(null)
        {
        }

        public override string ServiceVersion => "2015-05-28";

        public override string UserAgent => "extauthz-tests";

        public override string RegionEndpointServiceName => "data.iot";

        public override Endpoint DetermineServiceOperationEndpoint(ServiceOperationEndpointParameters parameters) => new("https://" + Host);
    }
}
