using System.Diagnostics;
using System.Net.Http;
using Envoy.Service.Auth.V3;
using Grpc.Core;
using Grpc.Net.Client;

namespace ExtAuthz.LoadTest;

/// <summary>What one call came to.</summary>
internal enum CallOutcome
{
    /// <summary>gRPC OK with <c>status.code</c> 0: the Check allowed the request.</summary>
    Allowed,

    /// <summary>gRPC OK with another <c>status.code</c>: a denial, which the requests sent never deserve.</summary>
    NotAllowed,

    /// <summary>gRPC DEADLINE_EXCEEDED: Envoy would have given up on the service.</summary>
    Timeout,

    /// <summary>Any other gRPC failure.</summary>
    Error,
}

/// <summary>
/// One server as the load generator sees it: <c>connections</c> gRPC channels, each with its own
/// SocketsHttpHandler and so its own HTTP/2 connection (Envoy likewise keeps a connection to the
/// service per worker thread). Calls take the channels in turn.
/// </summary>
internal sealed class Target : IDisposable
{
    private readonly GrpcChannel[] channels;
    private readonly Authorization.AuthorizationClient[] clients;

    public Target(ServerProcess server, int connections)
    {
        Server = server;
        channels = new GrpcChannel[connections];
        clients = new Authorization.AuthorizationClient[connections];
        for (var i = 0; i < connections; i++)
        {
            // EnableMultipleHttp2Connections: a channel whose 100 streams are all in use (a stalled
            // server under open-loop load) opens another connection instead of queueing the calls.
            var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan };
            channels[i] = GrpcChannel.ForAddress($"http://{server.Endpoint}", new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
            clients[i] = new Authorization.AuthorizationClient(channels[i]);
        }
    }

    public ServerProcess Server { get; }

    public string Name => Server.Name;

    public Authorization.AuthorizationClient Client(int call) => clients[call % clients.Length];

    public static async Task<CallOutcome> CallAsync(Authorization.AuthorizationClient client, CheckRequest request, TimeSpan deadline)
    {
        try
        {
            using var call = client.CheckAsync(request, deadline: DateTime.UtcNow.Add(deadline));
            var response = await call.ResponseAsync.ConfigureAwait(false);
            return response.Status is null || response.Status.Code == 0 ? CallOutcome.Allowed : CallOutcome.NotAllowed;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.DeadlineExceeded)
        {
            return CallOutcome.Timeout;
        }
        catch (RpcException)
        {
            return CallOutcome.Error;
        }
    }

    public void Dispose()
    {
        foreach (var channel in channels)
        {
            channel.Dispose();
        }
    }
}

/// <summary>Counts of call outcomes, safe to update from concurrent completions.</summary>
internal sealed class OutcomeCounts
{
    private long allowed;
    private long notAllowed;
    private long timeouts;
    private long errors;

    public long Allowed => Interlocked.Read(ref allowed);

    public long NotAllowed => Interlocked.Read(ref notAllowed);

    public long Timeouts => Interlocked.Read(ref timeouts);

    public long Errors => Interlocked.Read(ref errors);

    public long Total => Allowed + NotAllowed + Timeouts + Errors;

    public void Count(CallOutcome outcome)
    {
        switch (outcome)
        {
            case CallOutcome.Allowed:
                Interlocked.Increment(ref allowed);
                break;
            case CallOutcome.NotAllowed:
                Interlocked.Increment(ref notAllowed);
                break;
            case CallOutcome.Timeout:
                Interlocked.Increment(ref timeouts);
                break;
            default:
                Interlocked.Increment(ref errors);
                break;
        }
    }
}

/// <summary>What a phase measured on one server.</summary>
internal sealed record PhaseMeasurement(
    OutcomeCounts Outcomes,
    LatencySamples Latencies,
    LatencySamples? SendLags,
    double Seconds,
    TimeSpan ServerCpu,
    TimeSpan ClientCpu);

/// <summary>The two ways of loading a server.</summary>
internal static class LoadPhases
{
    /// <summary>
    /// Closed loop: <paramref name="concurrency"/> callers, each sending its next call as soon as the
    /// previous one completes, for <paramref name="ramp"/> unmeasured and then <paramref name="duration"/>
    /// measured. Counts the calls completing inside the measured window: the server's throughput at
    /// that concurrency. (The latencies are those of saturation, informational only.)
    /// </summary>
    public static async Task<PhaseMeasurement> ClosedLoopAsync(Target target, CheckRequest[] requests, int concurrency, TimeSpan ramp, TimeSpan duration, TimeSpan deadline)
    {
        var outcomes = new OutcomeCounts();
        var measureStart = Stopwatch.GetTimestamp() + (long)(ramp.TotalSeconds * Stopwatch.Frequency);
        var measureEnd = measureStart + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var callers = new Task<LatencySamples>[concurrency];
        for (var c = 0; c < concurrency; c++)
        {
            var caller = c;
            callers[c] = Task.Run(async () =>
            {
                var samples = new LatencySamples(4_096);
                var client = target.Client(caller);
                for (var i = caller; ; i += concurrency)
                {
                    var start = Stopwatch.GetTimestamp();
                    if (start >= measureEnd)
                    {
                        return samples;
                    }

                    var outcome = await Target.CallAsync(client, requests[i % requests.Length], deadline).ConfigureAwait(false);
                    var end = Stopwatch.GetTimestamp();
                    if (end >= measureStart && end < measureEnd)
                    {
                        samples.Append(end - start);
                        outcomes.Count(outcome);
                    }
                }
            });
        }

        // CPU times are read at the window's edges; the callers keep running across them.
        await DelayUntil(measureStart).ConfigureAwait(false);
        var serverBefore = target.Server.CpuTime;
        var clientBefore = Process.GetCurrentProcess().TotalProcessorTime;
        await DelayUntil(measureEnd).ConfigureAwait(false);
        var serverCpu = target.Server.CpuTime - serverBefore;
        var clientCpu = Process.GetCurrentProcess().TotalProcessorTime - clientBefore;

        var latencies = new LatencySamples(1);
        foreach (var samples in await Task.WhenAll(callers).ConfigureAwait(false))
        {
            latencies.AddRange(samples);
        }

        return new PhaseMeasurement(outcomes, latencies, null, duration.TotalSeconds, serverCpu, clientCpu);
    }

    /// <summary>
    /// Open loop at <paramref name="rate"/> checks/s for <paramref name="duration"/>: call i is due at
    /// t0 + i/rate whatever has completed (a dedicated thread sleeps until each due time and starts the
    /// call), and its latency is counted from that due time to its completion, so a stall of the server
    /// (or of the generator) is charged to every call it delays, not just to the one in flight
    /// (no coordinated omission). How late each call actually started is recorded too (send lag): it
    /// shows when the generator itself could not keep the schedule.
    /// </summary>
    public static async Task<PhaseMeasurement> OpenLoopAsync(Target target, CheckRequest[] requests, int rate, TimeSpan duration, TimeSpan deadline)
    {
        var run = new OpenLoop(target, requests, rate, duration, deadline);
        var serverBefore = target.Server.CpuTime;
        var clientBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var seconds = await run.RunAsync().ConfigureAwait(false);
        var serverCpu = target.Server.CpuTime - serverBefore;
        var clientCpu = Process.GetCurrentProcess().TotalProcessorTime - clientBefore;
        return new PhaseMeasurement(run.Outcomes, run.Latencies, run.SendLags, seconds, serverCpu, clientCpu);
    }

    private static Task DelayUntil(long timestamp)
    {
        var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), timestamp);
        return remaining > TimeSpan.Zero ? Task.Delay(remaining) : Task.CompletedTask;
    }

    private sealed class OpenLoop(Target target, CheckRequest[] requests, int rate, TimeSpan duration, TimeSpan deadline)
    {
        private readonly int calls = (int)Math.Max(1, rate * duration.TotalSeconds);
        private readonly TaskCompletionSource<long> done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int outstanding;
        private long start;

        public OutcomeCounts Outcomes { get; } = new();

        public LatencySamples Latencies { get; private set; } = null!;

        public LatencySamples SendLags { get; private set; } = null!;

        /// <summary>Runs the schedule; returns the seconds from t0 to the last completion.</summary>
        public async Task<double> RunAsync()
        {
            Latencies = new LatencySamples(calls);
            SendLags = new LatencySamples(calls);
            outstanding = calls;
            var scheduler = new Thread(Schedule) { IsBackground = true, Name = "open-loop scheduler" };
            scheduler.Start();

            // Every call ends by its deadline; the margin covers a generator that fell behind.
            var last = await done.Task.WaitAsync(duration + deadline + TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            scheduler.Join();
            return Stopwatch.GetElapsedTime(start, last).TotalSeconds;
        }

        private void Schedule()
        {
            var interval = (double)Stopwatch.Frequency / rate;
            start = Stopwatch.GetTimestamp();
            for (var i = 0; i < calls; i++)
            {
                var due = start + (long)(i * interval);
                var now = Stopwatch.GetTimestamp();
                while (now < due)
                {
                    PreciseSleep.Until(due);
                    now = Stopwatch.GetTimestamp();
                }

                SendLags.Add(now - due);
                _ = FireAsync(target.Client(i), requests[i % requests.Length], due);
            }
        }

        private async Task FireAsync(Authorization.AuthorizationClient client, CheckRequest request, long due)
        {
            var outcome = await Target.CallAsync(client, request, deadline).ConfigureAwait(false);
            var completed = Stopwatch.GetTimestamp();
            Latencies.Add(completed - due);
            Outcomes.Count(outcome);
            if (Interlocked.Decrement(ref outstanding) == 0)
            {
                done.TrySetResult(completed);
            }
        }
    }
}
