using Microsoft.Extensions.Logging;

namespace ExtAuthz.Envoy.Tests.Observability;

/// <summary>A write-only stream that keeps what it was given; the base of the test sinks.</summary>
internal class RecordingStream : Stream
{
    private readonly MemoryStream written = new();
    private readonly Lock gate = new();

    public int Writes { get; private set; }

    public string Text
    {
        get
        {
            lock (gate)
            {
                return System.Text.Encoding.UTF8.GetString(written.ToArray());
            }
        }
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        int call;
        lock (gate)
        {
            call = ++Writes;
        }

        BeforeWrite(call);
        lock (gate)
        {
            written.Write(buffer);
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Runs before the <paramref name="call"/>th write (1-based) takes its bytes; may block or throw.</summary>
    protected virtual void BeforeWrite(int call)
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            written.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>A sink whose first write blocks (as a full pipe would) until <see cref="Release"/>.</summary>
internal sealed class GatedStream : RecordingStream
{
    private readonly ManualResetEventSlim gate = new();
    private readonly TaskCompletionSource entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the writer is blocked in the first write.</summary>
    public Task Entered => entered.Task;

    public void Release() => gate.Set();

    protected override void BeforeWrite(int call)
    {
        if (call == 1)
        {
            entered.TrySetResult();
            gate.Wait();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            gate.Set();
            gate.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>A sink whose first <c>failures</c> writes throw, as a full disk or a closed pipe does.</summary>
internal sealed class FailingStream(int failures) : RecordingStream
{
    private readonly TaskCompletionSource failed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the first write has thrown.</summary>
    public Task Failed => failed.Task;

    protected override void BeforeWrite(int call)
    {
        if (call <= failures)
        {
            failed.TrySetResult();
            throw new IOException("No space left on device");
        }
    }
}

/// <summary>Keeps every log entry.</summary>
internal sealed class CollectingLogger : ILogger
{
    private readonly Lock gate = new();
    private readonly List<(LogLevel Level, EventId Id, string Message)> entries = [];

    public IReadOnlyList<(LogLevel Level, EventId Id, string Message)> Entries
    {
        get
        {
            lock (gate)
            {
                return [.. entries];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (gate)
        {
            entries.Add((logLevel, eventId, formatter(state, exception)));
        }
    }
}
