using System.Globalization;
using System.Reflection;
using ExtAuthz.MqttBench;

// The MQTT gate against the same broker without it, in one run: QoS 0 publish throughput, publish → receive
// latency, and the gate's memory with many idle connections. Markdown on standard output, progress on standard error.
const string Usage = """
    ExtAuthz.MqttBench [--seconds N] [--rounds N] [--publishers N] [--latency-seconds N] [--idle N] [--broker embedded|mosquitto]
      --seconds          each throughput phase's measured window (default 10; 2 s warm-up before it)
      --rounds           direct/gate pairs of each measurement, alternated (default 2)
      --publishers       publishing connections in the throughput phase (default 4)
      --latency-seconds  each latency phase's length (default 5)
      --idle             idle connections through a fresh gate (default 10000; 0 skips the phase). Each takes one of
                         the gate's file descriptors (two with --broker mosquitto), so `ulimit -n` bounds it
      --broker           embedded (default): the gate's own broker (serve's default), reached by the gate in memory and
                         by the direct clients on its loopback listener; mosquitto: a local mosquitto the gate relays
                         to over TCP, with a no-op TCP relay measured in the same run as the latency's baseline
    """;

if (args is ["relay", var relayListen, var relayTarget])
{
    await Relay.RunAsync(int.Parse(relayListen, CultureInfo.InvariantCulture), int.Parse(relayTarget, CultureInfo.InvariantCulture));
    return 0;
}

var seconds = 10;
var rounds = 2;
var publishers = 4;
var latencySeconds = 5;
var idle = 10_000;
var brokerKind = "embedded";
for (var i = 0; i < args.Length; i++)
{
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    int Number() => int.Parse(Value(), CultureInfo.InvariantCulture);
    switch (args[i])
    {
        case "--seconds": seconds = Number(); break;
        case "--rounds": rounds = Number(); break;
        case "--publishers": publishers = Number(); break;
        case "--latency-seconds": latencySeconds = Number(); break;
        case "--idle": idle = Number(); break;
        case "--broker": brokerKind = Value() is "mosquitto" or "embedded" ? args[i] : throw new ArgumentException($"--broker must be embedded or mosquitto, not '{args[i]}'"); break;
        default:
            Console.Error.WriteLine(Usage);
            return 2;
    }
}

var dll = typeof(Phases).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "ExtAuthzServiceDll").Value!;
void Progress(string line) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {line}");
static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[..3] is var l ? string.Join(' ', l) : "";
static string Mib(long bytes) => (bytes / 1048576.0).ToString("F0", CultureInfo.InvariantCulture);

using var fleet = await Fleet.CreateAsync(dll);
await using var broker = await Broker.StartAsync(brokerKind, fleet.Directory);
var loadBefore = LoadAverage();
Progress($"broker: {broker.Description}; load average {loadBefore}");

var throughput = new List<(ThroughputResult Direct, ThroughputResult Gate)>();
var latency = new List<(LatencyResult Direct, LatencyResult Gate)>();
var relayLatency = new List<LatencyResult>();
string gateCommand;
using (var gate = await Gate.StartAsync(dll, fleet, broker))
{
    gateCommand = gate.CommandLine;
    Progress($"gate: pid {gate.ProcessId}, 127.0.0.1:{gate.Port}");
    var warmup = TimeSpan.FromSeconds(2);
    for (var round = 1; round <= rounds; round++)
    {
        var direct = await Phases.ThroughputAsync(broker.Port, broker.Port, publishers, warmup, TimeSpan.FromSeconds(seconds), $"d{round}", null);
        Progress($"throughput direct  round {round}: {direct.SentPerSecond:F0} sent/s, {direct.DeliveredPerSecond:F0} delivered/s");
        var gated = await Phases.ThroughputAsync(gate.Port, broker.Port, publishers, warmup, TimeSpan.FromSeconds(seconds), $"g{round}", () => gate.CpuTime);
        Progress($"throughput gate    round {round}: {gated.SentPerSecond:F0} sent/s, {gated.DeliveredPerSecond:F0} delivered/s, gate CPU {gated.GateCpuSeconds:F1} s");
        throughput.Add((direct, gated));
    }

    using var relay = broker.InGate ? null : await Relay.StartAsync(broker.Port);
    for (var round = 1; round <= rounds; round++)
    {
        var direct = await Phases.LatencyAsync(broker.Port, TimeSpan.FromSeconds(latencySeconds), $"ld{round}");
        Progress($"latency direct  round {round}: p50 {direct.P50Microseconds:F0} µs ({direct.Samples} samples)");
        if (relay is not null)
        {
            var throughRelay = await Phases.LatencyAsync(relay.Port, TimeSpan.FromSeconds(latencySeconds), $"lr{round}");
            Progress($"latency relay   round {round}: p50 {throughRelay.P50Microseconds:F0} µs ({throughRelay.Samples} samples)");
            relayLatency.Add(throughRelay);
        }

        var gated = await Phases.LatencyAsync(gate.Port, TimeSpan.FromSeconds(latencySeconds), $"lg{round}");
        Progress($"latency gate    round {round}: p50 {gated.P50Microseconds:F0} µs ({gated.Samples} samples)");
        latency.Add((direct, gated));
    }
}

List<IdleCheckpoint> checkpoints = [];
if (idle > 0)
{
    using var gate = await Gate.StartAsync(dll, fleet, broker);
    await Task.Delay(TimeSpan.FromSeconds(2));
    checkpoints = await Phases.IdleConnectionsAsync(gate, broker, idle, Math.Max(1, idle / 4), Progress);
}

var loadAfter = LoadAverage();
var o = Console.Out;
o.WriteLine($"MQTT gate benchmark: {Environment.ProcessorCount} cores, load average {loadBefore} before, {loadAfter} after; broker {broker.Description}");
o.WriteLine($"gate: `{gateCommand}`");
o.WriteLine();
o.WriteLine($"QoS 0 publish throughput ({publishers} publishers, {seconds} s windows, 64-byte payloads, subscriber on the broker):");
o.WriteLine();
o.WriteLine("| round | direct sent/s | direct delivered/s | gate sent/s | gate delivered/s | gate / direct (delivered) | gate CPU s/s | gate CPU µs/message |");
o.WriteLine("|---|---|---|---|---|---|---|---|");
foreach (var (r, i) in throughput.Select((r, i) => (r, i + 1)))
{
    o.WriteLine($"| {i} | {r.Direct.SentPerSecond:N0} | {r.Direct.DeliveredPerSecond:N0} | {r.Gate.SentPerSecond:N0} | {r.Gate.DeliveredPerSecond:N0} | {r.Gate.DeliveredPerSecond / r.Direct.DeliveredPerSecond:P0} | {r.Gate.GateCpuSeconds / seconds:F2} | {r.Gate.GateCpuSeconds * 1e6 / (r.Gate.DeliveredPerSecond * seconds):F1} |");
}

var tpRatio = throughput.Sum(r => r.Gate.DeliveredPerSecond) / throughput.Sum(r => r.Direct.DeliveredPerSecond);
// QoS 0 lets a broker drop what it cannot deliver; when it drops much, delivered/s measures the broker's overload, not the path to it.
var dropped = throughput.SelectMany(r => new[] { r.Direct, r.Gate }).Max(r => 1 - (r.DeliveredPerSecond / r.SentPerSecond));
var verdict = dropped > 0.10 ? $"not measured: the broker dropped up to {dropped:P0} of the QoS 0 messages sent in a phase, so it, not the gate, set the rate (use --broker mosquitto)" : tpRatio >= 0.70 ? "met" : "missed";
o.WriteLine($"| all | | {throughput.Average(r => r.Direct.DeliveredPerSecond):N0} | | {throughput.Average(r => r.Gate.DeliveredPerSecond):N0} | **{tpRatio:P0}** (target ≥ 70%: {verdict}) | | |");
o.WriteLine();
o.WriteLine($"Publish → receive latency (one message in flight, {latencySeconds} s per phase; through the gate both clients connect to it):");
o.WriteLine();
static string Percentiles(LatencyResult r) => $"{r.P50Microseconds:F0} / {r.P90Microseconds:F0} / {r.P99Microseconds:F0} ({r.Samples:N0})";
var relayed = relayLatency.Count > 0;
o.WriteLine("| round | direct p50 / p90 / p99 µs |" + (relayed ? " no-op relay p50 / p90 / p99 µs | relay / direct p50 |" : "") + " gate p50 / p90 / p99 µs | gate / direct p50 |");
o.WriteLine("|---|---|" + (relayed ? "---|---|" : "") + "---|---|");
foreach (var (r, i) in latency.Select((r, i) => (r, i + 1)))
{
    var relayColumns = relayed ? $" {Percentiles(relayLatency[i - 1])} | {relayLatency[i - 1].P50Microseconds / r.Direct.P50Microseconds:F2}× |" : "";
    o.WriteLine($"| {i} | {Percentiles(r.Direct)} |{relayColumns} {Percentiles(r.Gate)} | {r.Gate.P50Microseconds / r.Direct.P50Microseconds:F2}× |");
}

var directP50 = latency.Average(r => r.Direct.P50Microseconds);
var latRatio = latency.Average(r => r.Gate.P50Microseconds) / directP50;
var relaySummary = relayed ? $" {relayLatency.Average(r => r.P50Microseconds):F0} | {relayLatency.Average(r => r.P50Microseconds) / directP50:F2}× |" : "";
o.WriteLine($"| all | {directP50:F0} |{relaySummary} {latency.Average(r => r.Gate.P50Microseconds):F0} | **{latRatio:F2}×** (target ≤ 1.5×: {(latRatio <= 1.5 ? "met" : "missed")}) |");

if (checkpoints.Count > 0)
{
    o.WriteLine();
    o.WriteLine("Idle connections through a fresh gate (MQTT 3.1.1 CONNECT, keep-alive 0), resident memory (VmRSS)" + (broker.InGate ? "; the gate's includes its embedded broker's sessions:" : ":"));
    o.WriteLine();
    o.WriteLine("| connections | gate RSS MiB | broker RSS MiB |");
    o.WriteLine("|---|---|---|");
    foreach (var c in checkpoints)
    {
        o.WriteLine($"| {c.Connections:N0} | {Mib(c.GateResidentBytes)} | {(c.BrokerResidentBytes is { } b ? Mib(b) : "in the gate")} |");
    }

    var first = checkpoints[0];
    var last = checkpoints[^1];
    var perConnection = (double)(last.GateResidentBytes - first.GateResidentBytes) / last.Connections;
    var at10k = first.GateResidentBytes + (perConnection * 10_000);
    o.WriteLine();
    o.WriteLine($"Gate: {perConnection / 1024:F1} KiB per idle connection; {Mib(last.GateResidentBytes)} MiB at {last.Connections:N0}" +
        (last.Connections >= 10_000 ? "" : $", {Mib((long)at10k)} MiB at 10,000 (linear from 0 to {last.Connections:N0})") +
        $" (target ≤ 500 MB: {(Math.Max(at10k, last.GateResidentBytes) <= 500_000_000 ? "met" : "missed")})");
}

return 0;
