using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace ExtAuthz.Identity.Cognito;

/// <summary>
/// Signing keys fetched over HTTP, kept across registry snapshots and keyed by URL: a JWKS URL, or an
/// issuer's OpenID discovery document (whose <c>jwks_uri</c> is then fetched). Fetches only ever run
/// in the background, one at a time per URL, at most one per <see cref="CognitoVerifierOptions.MinRefreshGap"/>,
/// each abandoned after <see cref="CognitoVerifierOptions.FetchTimeout"/>; readers take the current
/// keys without waiting. A failed refresh keeps the keys fetched before it.
/// </summary>
internal sealed class RemoteKeyCache : IDisposable
{
    private readonly ConcurrentDictionary<(string Url, bool Discovery), Entry> entries = new();
    private readonly CancellationTokenSource stopping = new();
    private readonly HttpClient client;
    private readonly CognitoVerifierOptions options;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private int disposed;

    public RemoteKeyCache(CognitoVerifierOptions options, TimeProvider time, ILogger logger)
    {
        this.options = options;
        this.time = time;
        this.logger = logger;

        // The fetch timeout is ours (on the verifier's clock), so the client's own is turned off.
        client = options.Handler is { } handler
            ? new HttpClient(handler, disposeHandler: false)
            : new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(10) }, disposeHandler: true);
        client.Timeout = Timeout.InfiniteTimeSpan;
    }

    /// <summary>The entry for keys at <paramref name="url"/> (a discovery document's URL when <paramref name="discovery"/>); created empty, nothing fetched yet.</summary>
    public Entry For(string url, bool discovery, string issuer) =>
        entries.GetOrAdd((url, discovery), static (key, issuer) => new Entry(key.Url, key.Discovery, issuer), issuer);

    /// <summary>
    /// Starts a background fetch unless one is under way or the last one began less than
    /// <see cref="CognitoVerifierOptions.MinRefreshGap"/> ago. True when a fetch is under way now.
    /// </summary>
    public bool Refresh(Entry entry)
    {
        if (Volatile.Read(ref disposed) != 0)
        {
            return false;
        }

        lock (entry)
        {
            if (entry.Fetching is not null)
            {
                return true;
            }

            var now = time.GetUtcNow();
            if (entry.LastAttempt is { } last && now - last < options.MinRefreshGap)
            {
                return false;
            }

            entry.LastAttempt = now;
            entry.Fetching = Task.Run(() => FetchAsync(entry));
            return true;
        }
    }

    /// <summary>Completes when the entry's fetch under way, if any, has finished (fetches never fault).</summary>
    public static Task WhenFetched(Entry entry)
    {
        lock (entry)
        {
            return entry.Fetching ?? Task.CompletedTask;
        }
    }

    /// <summary>When the next fetch from this entry's URL may start.</summary>
    public DateTimeOffset NextAttempt(Entry entry)
    {
        lock (entry)
        {
            return entry.LastAttempt is { } last ? last + options.MinRefreshGap : time.GetUtcNow();
        }
    }

    /// <summary>True when keys fetched this long ago should be fetched again.</summary>
    public bool IsStale(KeyState state) => time.GetUtcNow() - state.FetchedAt >= options.RefreshInterval;

    /// <summary>https, or plain http to a loopback address (a sidecar or a test); anything else could have its keys swapped in transit.</summary>
    public static bool IsFetchable(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback));

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        stopping.Cancel();
        client.Dispose();
        stopping.Dispose();
    }

    private async Task FetchAsync(Entry entry)
    {
        var keysUrl = entry.Url;
        try
        {
            using var timeout = new CancellationTokenSource(options.FetchTimeout, time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, stopping.Token);
            if (entry.Discovery)
            {
                keysUrl = JwksUriOf(await GetAsync(entry.Url, linked.Token).ConfigureAwait(false), entry);
            }

            var keys = SigningKeys.Parse(await GetAsync(keysUrl, linked.Token).ConfigureAwait(false), out var error)
                ?? throw new KeyFetchException($"{keysUrl}: {error}");
            entry.State = new KeyState(keys, time.GetUtcNow(), null);
            CognitoLog.KeysFetched(logger, keys.Count, entry.Issuer, keysUrl);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The verifier is being disposed; nobody will read the outcome.
        }
        catch (OperationCanceledException)
        {
            Failed(entry, $"{keysUrl} did not answer within {options.FetchTimeout.TotalSeconds:0.###} s");
        }
        catch (KeyFetchException ex)
        {
            Failed(entry, ex.Message);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or InvalidOperationException or ObjectDisposedException)
        {
            Failed(entry, $"{keysUrl}: {ex.Message}");
        }
        finally
        {
            lock (entry)
            {
                entry.Fetching = null;
            }
        }
    }

    private void Failed(Entry entry, string error)
    {
        var state = entry.State;
        entry.State = state with { Error = error };
        CognitoLog.FetchFailed(logger, entry.Issuer, error, state.Keys is null ? "no keys yet" : $"keeping the {state.Keys.Count} fetched at {state.FetchedAt:O}");
    }

    /// <summary>The discovery document's <c>jwks_uri</c>, after checking that the document is the issuer's own (OpenID Connect Discovery requires its <c>issuer</c> to match).</summary>
    private static string JwksUriOf(string json, Entry entry)
    {
        string? issuer;
        string? jwksUri;
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new KeyFetchException($"{entry.Url} is not an OpenID discovery document (a JSON object)");
            }

            issuer = root.TryGetProperty("issuer", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString() : null;
            jwksUri = root.TryGetProperty("jwks_uri", out var j) && j.ValueKind == JsonValueKind.String ? j.GetString() : null;
        }
        catch (JsonException)
        {
            throw new KeyFetchException($"{entry.Url} is not JSON");
        }

        if (issuer != entry.Issuer)
        {
            throw new KeyFetchException($"the discovery document at {entry.Url} names issuer {issuer ?? "(none)"}, not {entry.Issuer}");
        }

        return jwksUri is not null && IsFetchable(jwksUri)
            ? jwksUri
            : throw new KeyFetchException($"the discovery document at {entry.Url} has no https jwks_uri");
    }

    private async Task<string> GetAsync(string url, CancellationToken cancellation)
    {
        if (!IsFetchable(url))
        {
            throw new KeyFetchException($"{url} is not an https URL (plain http is allowed only to a loopback address)");
        }

        using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellation).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new KeyFetchException($"{url} answered {(int)response.StatusCode} {response.ReasonPhrase}");
        }

        if (response.Content.Headers.ContentLength > SigningKeys.MaxDocumentBytes)
        {
            throw new KeyFetchException($"{url} sent more than {SigningKeys.MaxDocumentBytes} bytes");
        }

        var stream = await response.Content.ReadAsStreamAsync(cancellation).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[SigningKeys.MaxDocumentBytes + 1];
            var length = 0;
            int read;
            while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellation).ConfigureAwait(false)) > 0)
            {
                length += read;
            }

            return length > SigningKeys.MaxDocumentBytes
                ? throw new KeyFetchException($"{url} sent more than {SigningKeys.MaxDocumentBytes} bytes")
                : Encoding.UTF8.GetString(buffer, 0, length);
        }
    }

    /// <summary>What one URL has yielded: the keys (null until a fetch succeeded), when, and the last fetch's error (null once one succeeds).</summary>
    internal sealed record KeyState(SigningKeys? Keys, DateTimeOffset FetchedAt, string? Error)
    {
        public static KeyState Empty { get; } = new(null, DateTimeOffset.MinValue, null);
    }

    /// <summary>One URL's keys. <see cref="State"/> is swapped whole; the fetch bookkeeping is guarded by the entry's lock.</summary>
    internal sealed class Entry(string url, bool discovery, string issuer)
    {
        private volatile KeyState state = KeyState.Empty;

        public string Url => url;

        public bool Discovery => discovery;

        /// <summary>The issuer whose keys these are (what the discovery document must name; what messages call them).</summary>
        public string Issuer => issuer;

        public KeyState State
        {
            get => state;
            set => state = value;
        }

        public Task? Fetching { get; set; }

        public DateTimeOffset? LastAttempt { get; set; }
    }

    /// <summary>A fetch that got an answer, but not a usable one; the message says what was wrong.</summary>
    private sealed class KeyFetchException(string message) : Exception(message);
}
