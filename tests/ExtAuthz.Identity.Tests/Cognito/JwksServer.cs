using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace ExtAuthz.Identity.Tests.Cognito;

/// <summary>
/// Serves JWKS and discovery documents to the verifier's HttpClient, as an issuer would: each URL answers
/// with what the test set (a document, an error status, or nothing at all until the request is
/// cancelled), and every request is counted and announced.
/// </summary>
internal sealed class JwksServer : HttpMessageHandler
{
    private readonly ConcurrentDictionary<string, Func<CancellationToken, Task<HttpResponseMessage>>> routes = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> requests = new();
    private TaskCompletionSource requested = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Every URL requested, in order.</summary>
    public IReadOnlyList<string> Requests => [.. requests];

    public int CountOf(string url) => requests.Count(r => r == url);

    public JwksServer Serve(string url, string json)
    {
        routes[url] = _ => Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(json, Encoding.UTF8, "application/json") });
        return this;
    }

    public JwksServer Fail(string url, HttpStatusCode status)
    {
        routes[url] = _ => Task.FromResult(new HttpResponseMessage(status));
        return this;
    }

    /// <summary>Accepts the request and never answers; only cancellation (the verifier's timeout, or its disposal) ends it.</summary>
    public JwksServer Hang(string url)
    {
        routes[url] = async cancellation =>
        {
            await Task.Delay(Timeout.Infinite, cancellation);
            throw new InvalidOperationException("unreachable");
        };
        return this;
    }

    /// <summary>Completes at the next request (from now on).</summary>
    public Task NextRequest()
    {
        var next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Exchange(ref requested, next);
        return next.Task;
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var url = request.RequestUri!.ToString();
        requests.Enqueue(url);
        var route = routes.TryGetValue(url, out var answer) ? answer : _ => Task.FromResult(new HttpResponseMessage(HttpStatusCode.NotFound));
        var response = route(cancellationToken);
        Volatile.Read(ref requested).TrySetResult();
        return response;
    }
}
