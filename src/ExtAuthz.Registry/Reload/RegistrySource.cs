using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ExtAuthz.Registry;

/// <summary>
/// The registry in effect, kept current from configuration directories (mounted ConfigMaps and
/// Secrets). Request paths read <see cref="Current"/>: one volatile read, no lock, and the snapshot
/// they get is complete and immutable. Changes are noticed by <see cref="FileSystemWatcher"/> (the
/// kubelet's <c>..data</c> swaps included) after a short debounce, with a periodic stamp check (link
/// targets, sizes and times; no file is read) as a safety net. Each change is loaded off the request
/// path, one load at a time, and swapped in whole as generation + 1; an invalid change is refused
/// (logged, and in <see cref="Status"/>) while the last good snapshot keeps serving; files identical to
/// the serving snapshot's make no new generation. A load during which the files changed (a swap in the
/// middle of reading) is thrown away and done again, so no snapshot mixes two versions.
/// </summary>
public sealed class RegistrySource : IDisposable, IAsyncDisposable
{
    /// <summary>Loads in a row that may find the files changing under them before waiting for quiet.</summary>
    private const int SettleAttempts = 3;

    private readonly string[] directories;
    private readonly RegistrySourceOptions options;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly SemaphoreSlim reloadLock = new(1, 1);
    private readonly Channel<bool> wake = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    private readonly CancellationTokenSource stopping = new();
    private readonly Lock watchersLock = new();
    private readonly Dictionary<string, FileSystemWatcher> watchers = new(StringComparer.Ordinal);

    private RegistrySnapshot? current;
    private RegistrySourceStatus status;
    private TaskCompletionSource<RegistrySnapshot> changed = NewSignal();

    // Written under reloadLock; read by the poll.
    private DirectoryStamp? loadedStamp;
    private string? lastRefusedStamp;
    private long lastAttemptTimestamp;

    // Debounce state, written by watcher callbacks.
    private int dirty;
    private long firstEventTimestamp;
    private long lastEventTimestamp;

    private Task? loop;
    private int started;
    private int disposed;

    public RegistrySource(IReadOnlyList<string> directories, RegistrySourceOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(directories);
        if (directories.Count == 0)
        {
            throw new ArgumentException("at least one configuration directory is needed", nameof(directories));
        }

        this.directories = directories.Select(Path.GetFullPath).ToArray();
        this.options = options ?? new RegistrySourceOptions();
        this.options.Validate();
        time = this.options.TimeProvider;
        this.logger = logger ?? NullLogger.Instance;
        status = new RegistrySourceStatus { Directories = this.directories };
    }

    /// <summary>Raised (on the reloading thread) after each new snapshot is swapped in. Handlers should be quick; their exceptions are logged and ignored.</summary>
    public event EventHandler<RegistrySnapshotChangedEventArgs>? SnapshotChanged;

    /// <summary>The snapshot in effect, or null while no configuration has loaded (not ready).</summary>
    public RegistrySnapshot? Current => Volatile.Read(ref current);

    /// <summary>True once a configuration has loaded.</summary>
    public bool IsReady => Current is not null;

    public RegistrySourceStatus Status => Volatile.Read(ref status);

    public IReadOnlyList<string> Directories => directories;

    /// <summary>
    /// Loads the configuration now (on the calling thread) and starts watching. A first load that fails
    /// leaves <see cref="Current"/> null, is logged and in <see cref="Status"/>, and is retried when the
    /// files change (and every <see cref="RegistrySourceOptions.RetryInterval"/>).
    /// </summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        if (Interlocked.Exchange(ref started, 1) != 0)
        {
            throw new InvalidOperationException("the registry source is already started");
        }

        // Watch first, so that a change made during the first load is not missed.
        EnsureWatchers();
        reloadLock.Wait();
        try
        {
            ReloadLocked();
        }
        finally
        {
            reloadLock.Release();
            loop = Task.Run(() => RunAsync(stopping.Token));
        }
    }

    /// <summary>
    /// Reloads now, whatever the watchers and the poll say, after any reload in progress; for tests and
    /// admin use. Works before <see cref="Start"/> too (then it is also the first load).
    /// </summary>
    public async Task<ReloadResult> ReloadNowAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        await reloadLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await Task.Run(ReloadLocked, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            reloadLock.Release();
        }
    }

    /// <summary>Completes with the snapshot in effect once its generation is at least <paramref name="generation"/>.</summary>
    public async Task<RegistrySnapshot> WaitForGenerationAsync(long generation, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            // Signal first, then the snapshot: a swap between the two completes the signal we hold.
            var signal = Volatile.Read(ref changed);
            if (Current is { } snapshot && snapshot.Generation >= generation)
            {
                return snapshot;
            }

            ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
            await signal.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stops watching and polling, waits for a reload in progress, and fails pending <see cref="WaitForGenerationAsync"/> calls with <see cref="ObjectDisposedException"/>. <see cref="Current"/> stays readable.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        StopWatchers();
        await stopping.CancelAsync().ConfigureAwait(false);
        if (loop is not null)
        {
            await loop.ConfigureAwait(false);
        }

        wake.Writer.TryComplete();
        var signal = Volatile.Read(ref changed);
        if (signal.TrySetException(new ObjectDisposedException(nameof(RegistrySource))))
        {
            _ = signal.Task.Exception; // observed: waiters rethrow it, nobody else needs to
        }

        stopping.Dispose();
    }

    /// <summary>Stops watching and waits for a reload in progress to end. Not from a <see cref="SnapshotChanged"/> handler: it would wait for itself.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private static TaskCompletionSource<RegistrySnapshot> NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var lastPoll = time.GetTimestamp();
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var untilPoll = options.PollInterval - time.GetElapsedTime(lastPoll);
                if (untilPoll > TimeSpan.Zero && Volatile.Read(ref dirty) == 0)
                {
                    await WaitForWakeAsync(untilPoll, cancellationToken).ConfigureAwait(false);
                }

                cancellationToken.ThrowIfCancellationRequested();
                if (Volatile.Read(ref dirty) != 0)
                {
                    await DebounceAsync(cancellationToken).ConfigureAwait(false);
                    Interlocked.Exchange(ref dirty, 0);
                    await ReloadInBackgroundAsync(cancellationToken).ConfigureAwait(false);
                }

                if (time.GetElapsedTime(lastPoll) >= options.PollInterval)
                {
                    lastPoll = time.GetTimestamp();
                    if (EnsureWatchers())
                    {
                        // Events may have been missed while no watcher was there.
                        MarkDirty();
                    }

                    if (PollSaysReload())
                    {
                        await ReloadInBackgroundAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // The loop must survive anything; what went wrong is logged.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                RegistrySourceLog.LoopFailed(logger, ex);
                try
                {
                    await Task.Delay(options.PollInterval, time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    private async Task WaitForWakeAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var woken = wake.Reader.WaitToReadAsync(waiting.Token).AsTask();
        var delay = Task.Delay(timeout, time, waiting.Token);
        await Task.WhenAny(woken, delay).ConfigureAwait(false);
        await waiting.CancelAsync().ConfigureAwait(false);
        while (wake.Reader.TryRead(out _))
        {
        }
    }

    /// <summary>Waits until no event came for <see cref="RegistrySourceOptions.Debounce"/>, or <see cref="RegistrySourceOptions.MaxDebounce"/> after the first.</summary>
    private async Task DebounceAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var quiet = options.Debounce - time.GetElapsedTime(Volatile.Read(ref lastEventTimestamp));
            var cap = options.MaxDebounce - time.GetElapsedTime(Volatile.Read(ref firstEventTimestamp));
            var wait = quiet < cap ? quiet : cap;
            if (wait <= TimeSpan.Zero)
            {
                return;
            }

            await Task.Delay(wait, time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task ReloadInBackgroundAsync(CancellationToken cancellationToken)
    {
        await reloadLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ReloadLocked();
        }
        finally
        {
            reloadLock.Release();
        }
    }

    /// <summary>The safety net: reload when the stamp differs from the last load's (or that one was racy), or to retry a failed first load.</summary>
    private bool PollSaysReload()
    {
        var last = Volatile.Read(ref loadedStamp);
        if (last is null || last.Racy)
        {
            return true;
        }

        if (DirectoryStamp.Take(directories).Hash != last.Hash)
        {
            return true;
        }

        return Current is null && time.GetElapsedTime(Volatile.Read(ref lastAttemptTimestamp)) >= options.RetryInterval;
    }

    /// <summary>One reload; the caller holds <see cref="reloadLock"/>.</summary>
    private ReloadResult ReloadLocked()
    {
        for (var attempt = 0; attempt < SettleAttempts; attempt++)
        {
            var before = DirectoryStamp.Take(directories);
            var previous = Current;
            var stopwatch = Stopwatch.StartNew();
            RegistrySnapshot? snapshot = null;
            ConfigException? error = null;
            try
            {
                snapshot = RegistryLoader.Load(directories, (previous?.Generation ?? 0) + 1, time, previous);
            }
            catch (ConfigException ex)
            {
                error = ex;
            }
#pragma warning disable CA1031 // Whatever the loader throws, the last good snapshot keeps serving.
            catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
            {
                error = new ConfigException($"loading failed: {ex.GetType().Name}: {ex.Message}", ex);
            }

            if (DirectoryStamp.Take(directories).Hash != before.Hash)
            {
                // The files changed while being read: the result may mix two versions. Read again.
                RegistrySourceLog.Unsettled(logger);
                continue;
            }

            Volatile.Write(ref loadedStamp, before);
            Volatile.Write(ref lastAttemptTimestamp, time.GetTimestamp());
            var now = time.GetUtcNow();
            var old = Status;
            if (error is not null)
            {
                var repeat = lastRefusedStamp == before.Hash && old.Refusing && old.LastError == error.Message;
                lastRefusedStamp = before.Hash;

                // Logged before it shows in Status, so whoever sees the refusal there finds it in the log.
                if (repeat)
                {
                    RegistrySourceLog.RefusedAgain(logger);
                }
                else if (previous is null)
                {
                    RegistrySourceLog.FirstLoadFailed(logger, error.Message);
                }
                else
                {
                    RegistrySourceLog.Refused(logger, previous.Generation, error.Message);
                }

                Volatile.Write(ref status, old with
                {
                    Refusing = true,
                    LastError = error.Message,
                    LastErrors = error.Errors,
                    LastErrorAt = now,
                    LastAttemptAt = now,
                    AttemptCount = old.AttemptCount + 1,
                    RefusedCount = old.RefusedCount + (repeat ? 0 : 1),
                });
                return new ReloadResult(ReloadOutcome.Refused, previous, error);
            }

            lastRefusedStamp = null;
            if (previous is not null && previous.Fingerprint == snapshot!.Fingerprint)
            {
                Volatile.Write(ref status, old with { Refusing = false, LastAttemptAt = now, AttemptCount = old.AttemptCount + 1 });
                RegistrySourceLog.Unchanged(logger, previous.Fingerprint, previous.Generation);
                return new ReloadResult(ReloadOutcome.Unchanged, previous, null);
            }

            Volatile.Write(ref current, snapshot);
            Volatile.Write(ref status, old with
            {
                Generation = snapshot!.Generation,
                LoadedAt = snapshot.LoadedAt,
                Fingerprint = snapshot.Fingerprint,
                FileCount = snapshot.Files.Count,
                Refusing = false,
                LastAttemptAt = now,
                AttemptCount = old.AttemptCount + 1,
                ReloadCount = old.ReloadCount + 1,
            });
            RegistrySourceLog.Loaded(logger, snapshot.Generation, snapshot.Files.Count, stopwatch.Elapsed.TotalMilliseconds, snapshot.Fingerprint);
            Interlocked.Exchange(ref changed, NewSignal()).TrySetResult(snapshot);
            Notify(new RegistrySnapshotChangedEventArgs(previous, snapshot));
            return new ReloadResult(ReloadOutcome.Loaded, snapshot, null);
        }

        // Still changing: let the background loop try again once it has been quiet for a while.
        MarkDirty();
        return new ReloadResult(ReloadOutcome.Unsettled, Current, null);
    }

    private void Notify(RegistrySnapshotChangedEventArgs args)
    {
        if (SnapshotChanged is not { } handlers)
        {
            return;
        }

        foreach (var handler in handlers.GetInvocationList().Cast<EventHandler<RegistrySnapshotChangedEventArgs>>())
        {
            try
            {
                handler(this, args);
            }
#pragma warning disable CA1031 // A subscriber must never break reloading.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                RegistrySourceLog.SubscriberFailed(logger, ex);
            }
        }
    }

    private void MarkDirty()
    {
        if (Volatile.Read(ref disposed) != 0)
        {
            return;
        }

        var now = time.GetTimestamp();
        Volatile.Write(ref lastEventTimestamp, now);
        if (Interlocked.CompareExchange(ref dirty, 1, 0) == 0)
        {
            Volatile.Write(ref firstEventTimestamp, now);
        }

        wake.Writer.TryWrite(true);
    }

    /// <summary>Watches every directory that exists and has no watcher yet; true when it made a new one.</summary>
    private bool EnsureWatchers()
    {
        if (!options.WatchFileSystem)
        {
            return false;
        }

        var added = false;

        lock (watchersLock)
        {
            if (Volatile.Read(ref disposed) != 0)
            {
                return false;
            }

            foreach (var directory in directories)
            {
                if (watchers.TryGetValue(directory, out var existing))
                {
                    if (Directory.Exists(directory))
                    {
                        continue;
                    }

                    // The directory went away; its watcher is dead. A new one follows when it is back.
                    watchers.Remove(directory);
                    existing.Dispose();
                    continue;
                }

                if (!Directory.Exists(directory))
                {
                    continue;
                }

                FileSystemWatcher? watcher = null;
                try
                {
                    watcher = new FileSystemWatcher(directory)
                    {
                        IncludeSubdirectories = true,
                        NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite
                            | NotifyFilters.Size | NotifyFilters.CreationTime | NotifyFilters.Attributes,
                    };
                    watcher.Changed += OnFileEvent;
                    watcher.Created += OnFileEvent;
                    watcher.Deleted += OnFileEvent;
                    watcher.Renamed += OnFileEvent;
                    watcher.Error += OnWatcherError;
                    watcher.EnableRaisingEvents = true;
                    watchers.Add(directory, watcher);
                    watcher = null;
                    added = true;
                }
                catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException or PlatformNotSupportedException)
                {
                    // inotify limits in containers, a directory that just vanished: the poll covers it.
                    RegistrySourceLog.WatchFailed(logger, ex, directory);
                }
                finally
                {
                    watcher?.Dispose();
                }
            }
        }

        return added;
    }

    private void StopWatchers()
    {
        lock (watchersLock)
        {
            foreach (var watcher in watchers.Values)
            {
                watcher.EnableRaisingEvents = false;
                watcher.Dispose();
            }

            watchers.Clear();
        }
    }

    private void OnFileEvent(object sender, FileSystemEventArgs e)
    {
        if (!IsHiddenWork(e.Name))
        {
            MarkDirty();
        }
    }

    /// <summary>
    /// True for events inside hidden entries other than <c>..data</c>: the kubelet writes a whole new
    /// timestamped folder before it swaps <c>..data</c>, and the loader skips hidden entries, so only the
    /// swap matters. Reacting to each write would hold the debounce open (and start loads) while a large
    /// ConfigMap is still being written.
    /// </summary>
    private static bool IsHiddenWork(string? relativePath)
    {
        if (string.IsNullOrEmpty(relativePath))
        {
            return false;
        }

        var first = relativePath.AsSpan();
        var separator = first.IndexOf(Path.DirectorySeparatorChar);
        if (separator >= 0)
        {
            first = first[..separator];
        }

        return first.StartsWith(".") && !first.SequenceEqual("..data");
    }

    private void OnWatcherError(object sender, ErrorEventArgs e)
    {
        RegistrySourceLog.WatcherError(logger, e.GetException());
        lock (watchersLock)
        {
            // Drop the watcher; the next poll makes a new one.
            foreach (var (directory, watcher) in watchers.ToArray())
            {
                if (ReferenceEquals(watcher, sender))
                {
                    watchers.Remove(directory);
                    watcher.Dispose();
                }
            }
        }

        MarkDirty();
    }
}
