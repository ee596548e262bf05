using System.Buffers;
using System.Text.Json;
using System.Threading.Channels;
using ExtAuthz.Identity.Decisions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ExtAuthz.Envoy.Observability;

/// <summary>
/// The decision log: one JSON line per Check (docs/observability.md), written off the request path.
/// <see cref="TryRecord"/> only queues: it never blocks and never waits for the sink; when the bounded
/// queue is full the record is dropped and counted. One background writer serializes the queue into a
/// reused buffer and hands it to the sink in batches. A failing sink (disk full, closed pipe) is
/// logged once, counted, and retried after <see cref="DecisionLogOptions.RetryInterval"/>; meanwhile
/// records are dropped and counted, so neither Checks nor memory suffer.
/// <para>Every record ends up counted in <see cref="Written"/> or <see cref="Dropped"/> (or, only on a
/// disabled log, in neither), except those in a write the sink never finishes.</para>
/// </summary>
public sealed class DecisionLog : IDisposable, IAsyncDisposable
{
    private static readonly ReadOnlyMemory<byte> NewLine = "\n"u8.ToArray();

    private readonly Channel<DecisionRecord>? queue;
    private readonly Stream? sink;
    private readonly bool leaveOpen;
    private readonly DecisionLogOptions options;
    private readonly ILogger logger;
    private readonly CancellationTokenSource abandon = new();
    private readonly Task? writer;

    private long written;
    private long dropped;
    private long writeErrors;
    private int disposed;

    /// <summary>Writes to <paramref name="sink"/>, which it disposes on <see cref="DisposeAsync"/> unless <paramref name="leaveOpen"/>.</summary>
    public DecisionLog(Stream sink, DecisionLogOptions? options = null, ILogger? logger = null, bool leaveOpen = false)
        : this(options, logger)
    {
        ArgumentNullException.ThrowIfNull(sink);
        if (!sink.CanWrite)
        {
            throw new ArgumentException("the decision log sink is not writable", nameof(sink));
        }

        this.sink = sink;
        this.leaveOpen = leaveOpen;

        // Wait mode makes TryWrite fail when full, which is how drops are counted. Not SingleReader:
        // DisposeAsync drains what a stuck writer cannot. No synchronous continuations: a Check's
        // TryWrite must never go on to run the writer's loop on the Check's own thread.
        queue = Channel.CreateBounded<DecisionRecord>(new BoundedChannelOptions(this.options.Capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false,
        });
        writer = Task.Run(() => WriteAllAsync(abandon.Token));
    }

    private DecisionLog(DecisionLogOptions? options, ILogger? logger)
    {
        this.options = options ?? new DecisionLogOptions();
        this.options.Validate();
        this.logger = logger ?? NullLogger.Instance;
    }

    /// <summary>False for a log opened on <c>none</c>: <see cref="TryRecord"/> then discards without counting.</summary>
    public bool Enabled => queue is not null;

    /// <summary>Records whose line the sink accepted (written and flushed).</summary>
    public long Written => Interlocked.Read(ref written);

    /// <summary>Records not written: refused because the queue was full, lost with a failed write, dropped while the sink was failing, or still queued when disposal gave up waiting.</summary>
    public long Dropped => Interlocked.Read(ref dropped);

    /// <summary>Sink writes (or flushes) that threw.</summary>
    public long WriteErrors => Interlocked.Read(ref writeErrors);

    /// <summary>
    /// <paramref name="destination"/>: <c>stdout</c> or <c>-</c> for standard output, <c>none</c> or empty
    /// for no log, anything else a file path, created if missing and appended to. Opening a file that
    /// cannot be opened throws here, at startup, rather than dropping every record later.
    /// </summary>
    public static DecisionLog Open(string destination, DecisionLogOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(destination);

        // Before opening anything, so that bad options cannot leave a file handle behind.
        options ??= new DecisionLogOptions();
        options.Validate();
        return destination switch
        {
            "" or "none" => new DecisionLog(options, logger),
            "stdout" or "-" => new DecisionLog(Console.OpenStandardOutput(), options, logger),

            // No FileStream buffer: the writer batches already, and after a failed write nothing half-written lingers in one.
            _ => new DecisionLog(new FileStream(destination, new FileStreamOptions
            {
                Mode = FileMode.Append,
                Access = FileAccess.Write,
                Share = FileShare.ReadWrite | FileShare.Delete,
                BufferSize = 0,
            }), options, logger),
        };
    }

    /// <summary>Queues the record for writing; false (and counted in <see cref="Dropped"/>) when the queue is full or the log is disposed. Never blocks.</summary>
    public bool TryRecord(DecisionRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (queue is null)
        {
            return false;
        }

        if (queue.Writer.TryWrite(record))
        {
            return true;
        }

        Interlocked.Increment(ref dropped);
        return false;
    }

    /// <summary>
    /// Stops accepting records, waits up to <see cref="DecisionLogOptions.DrainTimeout"/> for the queue to
    /// be written and flushed, drops (and counts) what is left after that, and closes the sink.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0 || queue is null)
        {
            return;
        }

        queue.Writer.TryComplete();
        var finished = true;
        try
        {
            await writer!.WaitAsync(options.DrainTimeout, options.TimeProvider).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            finished = false;
            await abandon.CancelAsync().ConfigureAwait(false);
            long left = 0;
            while (queue.Reader.TryRead(out _))
            {
                left++;
            }

            Interlocked.Add(ref dropped, left);
            DecisionLogLog.DrainTimedOut(logger, options.DrainTimeout, left);
        }

        if (!leaveOpen)
        {
            try
            {
                await sink!.DisposeAsync().ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Shutting down: a sink that fails to close is logged, never thrown at the host.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                DecisionLogLog.CloseFailed(logger, ex);
            }
        }

        // A writer still stuck in the sink holds the token: disposing its source would make it throw ObjectDisposedException instead of finishing.
        if (finished)
        {
            abandon.Dispose();
        }
    }

    /// <summary>
    /// <see cref="DisposeAsync"/>, waited for (up to <see cref="DecisionLogOptions.DrainTimeout"/>); for
    /// owners that dispose synchronously, such as a service provider disposed with <c>Dispose</c>.
    /// </summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private async Task WriteAllAsync(CancellationToken abandoned)
    {
        var reader = queue!.Reader;
        var buffer = new ArrayBufferWriter<byte>(options.FlushBytes);
        using var json = new Utf8JsonWriter(buffer, DecisionLine.WriterOptions);
        var state = new SinkState();
        var batch = 0;
        try
        {
            while (await reader.WaitToReadAsync(abandoned).ConfigureAwait(false))
            {
                while (!abandoned.IsCancellationRequested && reader.TryRead(out var record))
                {
                    if (state.Pausing(options))
                    {
                        Interlocked.Increment(ref dropped);
                        continue;
                    }

                    DecisionLine.Write(json, record);
                    json.Flush();
                    json.Reset();
                    buffer.Write(NewLine.Span);
                    batch++;
                    if (buffer.WrittenCount >= options.FlushBytes)
                    {
                        await WriteBatchAsync(buffer, batch, state, abandoned).ConfigureAwait(false);
                        batch = 0;
                    }
                }

                if (batch > 0)
                {
                    await WriteBatchAsync(buffer, batch, state, abandoned).ConfigureAwait(false);
                    batch = 0;
                }
            }
        }
        catch (OperationCanceledException) when (abandoned.IsCancellationRequested)
        {
            // DisposeAsync gave up waiting and drains the queue itself.
        }
#pragma warning disable CA1031 // The writer must never take the process down; once it is gone the full queue drops and counts.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            DecisionLogLog.WriterFailed(logger, ex);
        }
        finally
        {
            Interlocked.Add(ref dropped, batch);
        }
    }

    private async Task WriteBatchAsync(ArrayBufferWriter<byte> buffer, int count, SinkState state, CancellationToken abandoned)
    {
        try
        {
            if (state.FailedAt is not null)
            {
                // The failed write may have left half a line; end it so the next record starts a line of its own.
                await sink!.WriteAsync(NewLine, abandoned).ConfigureAwait(false);
            }

            await sink!.WriteAsync(buffer.WrittenMemory, abandoned).ConfigureAwait(false);
            await sink.FlushAsync(abandoned).ConfigureAwait(false);
            Interlocked.Add(ref written, count);
            if (state.FailedAt is not null)
            {
                DecisionLogLog.SinkRecovered(logger, state.Failures, Dropped - state.DroppedBefore);
                state.FailedAt = null;
                state.Failures = 0;
            }
        }
#pragma warning disable CA1031 // Whatever the sink throws (IOException, ObjectDisposedException, a custom stream's own), Checks go on.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Interlocked.Add(ref dropped, count);
            if (!abandoned.IsCancellationRequested)
            {
                Interlocked.Increment(ref writeErrors);
                if (state.FailedAt is null)
                {
                    state.DroppedBefore = Dropped - count;
                    DecisionLogLog.SinkFailed(logger, ex, options.RetryInterval);
                }

                state.Failures++;
                state.FailedAt = options.TimeProvider.GetTimestamp();
            }
        }
        finally
        {
            buffer.ResetWrittenCount();
        }
    }

    /// <summary>The writer's view of the sink's health (only the writer touches it).</summary>
    private sealed class SinkState
    {
        /// <summary>When the latest write of the current outage failed; null while the sink works.</summary>
        public long? FailedAt { get; set; }

        public long Failures { get; set; }

        /// <summary><see cref="Dropped"/> when the outage began, for the recovery message.</summary>
        public long DroppedBefore { get; set; }

        public bool Pausing(DecisionLogOptions options) =>
            FailedAt is { } failedAt && options.TimeProvider.GetElapsedTime(failedAt) < options.RetryInterval;
    }
}
