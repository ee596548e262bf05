using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Adapter;
using MQTTnet.Channel;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Server;

namespace ExtAuthz.Mqtt.Upstream;

/// <summary>
/// Lets the gate hand its connections to the embedded broker in memory: two pipes per connection
/// instead of a loopback socket pair. A loopback hop costs about as much as the broker's own work on
/// a small machine, so each message would otherwise cross four sockets instead of two, and every gate
/// connection would hold two file descriptors instead of one.
/// </summary>
internal sealed class InProcessConnections : IMqttServerAdapter
{
    // Each direction holds at most this much unread before its writer waits: what a socket buffer would.
    private static readonly PipeOptions Direction = new(pauseWriterThreshold: 256 * 1024, resumeWriterThreshold: 128 * 1024, useSynchronizationContext: false);

    private readonly Lock sessionsLock = new();
    private readonly HashSet<Task> sessions = [];
    private MqttServerOptions? serverOptions;
    private IMqttNetLogger? logger;
    private long connections;
    private volatile bool stopped;

    public Func<IMqttChannelAdapter, Task>? ClientHandler { get; set; }

    public Task StartAsync(MqttServerOptions options, IMqttNetLogger logger)
    {
        serverOptions = options;
        this.logger = logger;
        return Task.CompletedTask;
    }

    /// <summary>The broker's sessions end as it stops; this waits for their handlers.</summary>
    public async Task StopAsync()
    {
        stopped = true;
        Task[] running;
        lock (sessionsLock)
        {
            running = [.. sessions];
        }

        await Task.WhenAll(running).ConfigureAwait(false);
    }

    /// <summary>Opens one connection to the broker; the broker reads it as it would a client's socket.</summary>
    /// <exception cref="IOException">The broker is not running.</exception>
    public BrokerConnection Connect()
    {
        if (stopped || ClientHandler is not { } handler || serverOptions is null || logger is null)
        {
            throw new IOException("the embedded broker is not running");
        }

        var toBroker = new Pipe(Direction);
        var toGate = new Pipe(Direction);
        var endpoint = new InProcessEndPoint(Interlocked.Increment(ref connections));
        var channel = new PipeChannel(toBroker.Reader, toGate.Writer, endpoint);
        var formatter = new MqttPacketFormatterAdapter(new MqttBufferWriter(serverOptions.WriterBufferSize, serverOptions.WriterBufferSizeMax));
        var adapter = new MqttChannelAdapter(channel, formatter, logger);
        var session = Task.Run(async () =>
        {
            // Closing the channel as the broker lets the client go: the gate's side reads the end.
            using (channel)
            using (adapter)
            {
                try
                {
                    await handler(adapter).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // One connection's failure is the broker's to log; the gate's side sees the end.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    logger.Publish(MqttNetLogLevel.Error, nameof(InProcessConnections), "a connection from the gate failed in the broker", null, ex);
                }
            }
        });
        lock (sessionsLock)
        {
            sessions.Add(session);
        }

        session.ContinueWith(Forget, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return new BrokerConnection(toGate.Reader, toBroker.Writer);
    }

    public void Dispose()
    {
        // Nothing of its own to release: each connection's pipes end with the connection.
    }

    private static void Forget(Task session, object? state)
    {
        var self = (InProcessConnections)state!;
        lock (self.sessionsLock)
        {
            self.sessions.Remove(session);
        }
    }

    /// <summary>The broker's end of one connection: what it reads is what the gate wrote, and the reverse.</summary>
    private sealed class PipeChannel(PipeReader input, PipeWriter output, EndPoint endpoint) : IMqttChannel
    {
        private int closed;
        private int disposed;

        public X509Certificate2? ClientCertificate => null;

        public EndPoint RemoteEndPoint => endpoint;

        public EndPoint LocalEndPoint => endpoint;

        // The device's TLS ended at the gate; this hop never leaves the process.
        public bool IsSecureConnection => false;

        public Task ConnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        /// <summary>The gate reads the end; a read in progress here returns 0, as on a closed socket.</summary>
        public Task DisconnectAsync(CancellationToken cancellationToken)
        {
            Close();
            return Task.CompletedTask;
        }

        /// <summary>Up to <paramref name="count"/> bytes; 0 once either side has closed, as a socket reads at its end.</summary>
        public async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            if (Volatile.Read(ref closed) != 0)
            {
                return 0;
            }

            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var available = result.Buffer;
            if (result.IsCanceled || available.IsEmpty)
            {
                input.AdvanceTo(available.Start);
                return 0;
            }

            // The length is taken before AdvanceTo: after it, the pipe may reuse the segments.
            var length = (int)Math.Min(count, available.Length);
            var taken = available.Slice(0, length);
            taken.CopyTo(buffer.AsSpan(offset, count));
            input.AdvanceTo(taken.End);
            return length;
        }

        /// <summary>Sends at each packet's end, as the TCP channel flushes.</summary>
        /// <exception cref="IOException">Either side has closed the connection.</exception>
        public async Task WriteAsync(ReadOnlySequence<byte> buffer, bool isEndOfPacket, CancellationToken cancellationToken)
        {
            if (Volatile.Read(ref closed) != 0)
            {
                throw new IOException("the connection to the gate is closed");
            }

            foreach (var segment in buffer)
            {
                output.Write(segment.Span);
            }

            if (isEndOfPacket && (await output.FlushAsync(cancellationToken).ConfigureAwait(false)).IsCompleted)
            {
                throw new IOException("the gate closed the connection");
            }
        }

        public void Dispose()
        {
            Close();
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                input.Complete();
            }
        }

        private void Close()
        {
            if (Interlocked.Exchange(ref closed, 1) == 0)
            {
                output.Complete();
                input.CancelPendingRead();
            }
        }
    }

    /// <summary>Names a connection in the broker's logs and client list; it has no address.</summary>
    private sealed class InProcessEndPoint(long number) : EndPoint
    {
        public override AddressFamily AddressFamily => AddressFamily.Unspecified;

        public override string ToString() => $"extauthz-gate:{number}";
    }
}
