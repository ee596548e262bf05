using System.IO.Pipelines;

namespace ExtAuthz.Mqtt.Gate;

/// <summary>
/// One side's outgoing packets. Both pumps write to both sides (forwarded packets one way, the gate's
/// own acknowledgements the other), so writes are serialized here, each packet whole and flushed.
/// </summary>
internal sealed class PacketOutput(PipeWriter writer) : IDisposable
{
    private readonly SemaphoreSlim writing = new(1, 1);

    /// <exception cref="IOException">The other end stopped reading.</exception>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> packet, CancellationToken cancellationToken)
    {
        await writing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var result = await writer.WriteAsync(packet, cancellationToken).ConfigureAwait(false);
            if (result.IsCompleted)
            {
                throw new IOException("the connection is closed for writing");
            }
        }
        finally
        {
            writing.Release();
        }
    }

    public void Dispose() => writing.Dispose();
}
