using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MQTTnet;

namespace ExtAuthz.MqttBench;

internal sealed record ThroughputResult(double SentPerSecond, double DeliveredPerSecond, double GateCpuSeconds);

internal sealed record LatencyResult(int Samples, double P50Microseconds, double P90Microseconds, double P99Microseconds);

internal sealed record IdleCheckpoint(int Connections, long GateResidentBytes, long? BrokerResidentBytes);

/// <summary>The three measurements. MQTT 5 clients of MQTTnet 5 for throughput and latency; raw sockets for the idle connections.</summary>
internal static class Phases
{
    private const int PayloadBytes = 64;

    private static readonly MqttClientFactory Factory = new();

    /// <summary>
    /// QoS 0 publish throughput: <paramref name="publishers"/> clients connected to <paramref name="publishPort"/> (the gate
    /// or the broker) publish as fast as the connection takes it, each to its own topic; one subscriber connected
    /// straight to the broker counts what arrives. Counted over <paramref name="duration"/> after <paramref name="warmup"/>.
    /// </summary>
    public static async Task<ThroughputResult> ThroughputAsync(int publishPort, int brokerPort, int publishers, TimeSpan warmup, TimeSpan duration, string tag, Func<TimeSpan>? gateCpu)
    {
        long delivered = 0;
        using var subscriber = await ConnectAsync(brokerPort, $"bench-tp-sub-{tag}").ConfigureAwait(false);
        subscriber.ApplicationMessageReceivedAsync += _ =>
        {
            Interlocked.Increment(ref delivered);
            return Task.CompletedTask;
        };
        await subscriber.SubscribeAsync(Factory.CreateSubscribeOptionsBuilder().WithTopicFilter($"bench/{tag}/#").Build()).ConfigureAwait(false);

        var clients = new List<IMqttClient>();
        for (var i = 0; i < publishers; i++)
        {
            clients.Add(await ConnectAsync(publishPort, $"bench-tp-pub-{tag}-{i}").ConfigureAwait(false));
        }

        long sent = 0;
        var stop = false;
        var payload = new byte[PayloadBytes];
        var loops = clients.Select((client, i) => Task.Run(async () =>
        {
            var message = new MqttApplicationMessageBuilder().WithTopic($"bench/{tag}/{i}/telemetry").WithPayload(payload).Build();
            while (!Volatile.Read(ref stop))
            {
                await client.PublishAsync(message).ConfigureAwait(false);
                Interlocked.Increment(ref sent);
            }
        })).ToArray();

        await Task.Delay(warmup).ConfigureAwait(false);
        var (sent0, delivered0, cpu0) = (Interlocked.Read(ref sent), Interlocked.Read(ref delivered), gateCpu?.Invoke() ?? TimeSpan.Zero);
        var stopwatch = Stopwatch.StartNew();
        await Task.Delay(duration).ConfigureAwait(false);
        var (sent1, delivered1, cpu1) = (Interlocked.Read(ref sent), Interlocked.Read(ref delivered), gateCpu?.Invoke() ?? TimeSpan.Zero);
        var seconds = stopwatch.Elapsed.TotalSeconds;
        Volatile.Write(ref stop, true);
        await Task.WhenAll(loops).ConfigureAwait(false);

        foreach (var client in clients)
        {
            await client.DisconnectAsync().ConfigureAwait(false);
            client.Dispose();
        }

        await subscriber.DisconnectAsync().ConfigureAwait(false);
        return new ThroughputResult((sent1 - sent0) / seconds, (delivered1 - delivered0) / seconds, (cpu1 - cpu0).TotalSeconds);
    }

    /// <summary>
    /// Publish → receive latency, one message in flight: a publisher and a subscriber both connected to
    /// <paramref name="port"/> (through the gate, a message crosses it twice: the PUBLISH in, the delivery out).
    /// </summary>
    public static async Task<LatencyResult> LatencyAsync(int port, TimeSpan duration, string tag)
    {
        var topic = $"bench/{tag}/latency";
        TaskCompletionSource? arrived = null;
        using var subscriber = await ConnectAsync(port, $"bench-lat-sub-{tag}").ConfigureAwait(false);
        subscriber.ApplicationMessageReceivedAsync += _ =>
        {
            Volatile.Read(ref arrived)?.TrySetResult();
            return Task.CompletedTask;
        };
        await subscriber.SubscribeAsync(Factory.CreateSubscribeOptionsBuilder().WithTopicFilter(topic).Build()).ConfigureAwait(false);
        using var publisher = await ConnectAsync(port, $"bench-lat-pub-{tag}").ConfigureAwait(false);
        var message = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(new byte[PayloadBytes]).Build();

        async Task<long> RoundAsync()
        {
            var next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref arrived, next);
            var start = Stopwatch.GetTimestamp();
            await publisher.PublishAsync(message).ConfigureAwait(false);
            await next.Task.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            return Stopwatch.GetTimestamp() - start;
        }

        for (var i = 0; i < 200; i++)
        {
            await RoundAsync().ConfigureAwait(false);
        }

        var samples = new List<long>();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            samples.Add(await RoundAsync().ConfigureAwait(false));
        }

        await publisher.DisconnectAsync().ConfigureAwait(false);
        await subscriber.DisconnectAsync().ConfigureAwait(false);
        samples.Sort();
        double Percentile(double p) => samples[Math.Min(samples.Count - 1, (int)(p * samples.Count))] * 1_000_000.0 / Stopwatch.Frequency;
        return new LatencyResult(samples.Count, Percentile(0.50), Percentile(0.90), Percentile(0.99));
    }

    /// <summary>
    /// Opens <paramref name="count"/> idle MQTT 3.1.1 connections through the gate (raw sockets: CONNECT with
    /// keep-alive 0, so nothing is sent after the CONNACK), 64 at a time, and samples the gate's memory every
    /// <paramref name="step"/> connections and once more after 5 s at the full count. Closes them all at the end.
    /// </summary>
    public static async Task<List<IdleCheckpoint>> IdleConnectionsAsync(Gate gate, Broker broker, int count, int step, Action<string> progress)
    {
        var checkpoints = new List<IdleCheckpoint> { new(0, gate.ResidentBytes, broker.ResidentBytes) };
        var sockets = new Socket[count];
        using var parallel = new SemaphoreSlim(64);
        var stopwatch = Stopwatch.StartNew();
        try
        {
            for (var batch = 0; batch < count; batch += step)
            {
                var end = Math.Min(count, batch + step);
                await Task.WhenAll(Enumerable.Range(batch, end - batch).Select(async i =>
                {
                    await parallel.WaitAsync().ConfigureAwait(false);
                    try
                    {
                        sockets[i] = await OpenIdleAsync(gate.Port, $"bench-idle-{i}").ConfigureAwait(false);
                    }
                    finally
                    {
                        parallel.Release();
                    }
                })).ConfigureAwait(false);
                checkpoints.Add(new IdleCheckpoint(end, gate.ResidentBytes, broker.ResidentBytes));
                progress($"{end} idle connections open ({stopwatch.Elapsed.TotalSeconds:F1} s), gate RSS {gate.ResidentBytes / 1048576.0:F0} MiB");
            }

            await Task.Delay(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            var alive = sockets.Count(s => s is { Connected: true } && !(s.Poll(0, SelectMode.SelectRead) && s.Available == 0));
            if (alive != count)
            {
                throw new InvalidOperationException($"only {alive} of {count} idle connections are still open after 5 s");
            }

            checkpoints.Add(new IdleCheckpoint(count, gate.ResidentBytes, broker.ResidentBytes));
            return checkpoints;
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket?.Dispose();
            }
        }
    }

    private static async Task<Socket> OpenIdleAsync(int port, string clientId)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
            var id = Encoding.UTF8.GetBytes(clientId);
            // CONNECT, MQTT 3.1.1: protocol name, level 4, Clean Session, keep-alive 0; the client ID is the payload.
            var connect = new byte[2 + 10 + 2 + id.Length];
            connect[0] = 0x10;
            connect[1] = (byte)(10 + 2 + id.Length);
            "\0\u0004MQTT\u0004\u0002\0\0"u8.CopyTo(connect.AsSpan(2));
            BinaryPrimitives.WriteUInt16BigEndian(connect.AsSpan(12), (ushort)id.Length);
            id.CopyTo(connect, 14);
            await socket.SendAsync(connect).ConfigureAwait(false);
            var connack = new byte[4];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            for (var read = 0; read < connack.Length;)
            {
                var n = await socket.ReceiveAsync(connack.AsMemory(read), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                read += n > 0 ? n : throw new IOException($"{clientId}: the gate closed the connection before CONNACK");
            }

            return connack is [0x20, 0x02, _, 0x00]
                ? socket
                : throw new IOException($"{clientId}: CONNACK {Convert.ToHexString(connack)}");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task<IMqttClient> ConnectAsync(int port, string clientId)
    {
        var client = Factory.CreateMqttClient();
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", port)
            .WithClientId(clientId)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithCleanSession()
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(60))
            .WithTimeout(TimeSpan.FromSeconds(15))
            .Build();
        await client.ConnectAsync(options).ConfigureAwait(false);
        return client;
    }
}
