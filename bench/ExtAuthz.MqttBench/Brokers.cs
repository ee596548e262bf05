using ExtAuthz.Bench;

namespace ExtAuthz.MqttBench;

/// <summary>
/// The broker both paths publish to: the gate's own embedded broker (serve's default, which the gate reaches in
/// memory and the direct clients on its loopback listener), or a local mosquitto the gate relays to over TCP.
/// </summary>
internal abstract class Broker : IAsyncDisposable
{
    private static readonly string[] MosquittoPaths = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"];

    public required int Port { get; init; }

    public required string Description { get; init; }

    /// <summary>True when the broker runs inside the gate's process (so the gate's memory includes it).</summary>
    public abstract bool InGate { get; }

    /// <summary>The broker's resident set size in bytes, when it is a process of its own.</summary>
    public abstract long? ResidentBytes { get; }

    /// <summary>What `extauthz serve` needs to use this broker.</summary>
    public abstract IReadOnlyList<string> GateArguments { get; }

    public static async Task<Broker> StartAsync(string kind, string directory)
    {
        if (kind == "mosquitto")
        {
            var mosquitto = MosquittoPaths.FirstOrDefault(File.Exists) ?? throw new InvalidOperationException("--broker mosquitto: mosquitto is not installed (apt-get install mosquitto)");
            return await MosquittoBroker.LaunchAsync(mosquitto, directory).ConfigureAwait(false);
        }

        var port = ChildProcess.FreePort();
        return new GateEmbeddedBroker { Port = port, Description = $"the gate's embedded MQTTnet broker (its listener on 127.0.0.1:{port} for the direct clients)" };
    }

    public abstract ValueTask DisposeAsync();

    private sealed class MosquittoBroker : Broker
    {
        public required ChildProcess Process { get; init; }

        public override bool InGate => false;

        public override long? ResidentBytes => Process.ResidentBytes;

        public override IReadOnlyList<string> GateArguments => ["--broker", $"127.0.0.1:{Port}"];

        public static async Task<Broker> LaunchAsync(string executable, string directory)
        {
            var port = ChildProcess.FreePort();
            var config = Path.Combine(directory, "mosquitto.conf");
            await File.WriteAllTextAsync(config, $"""
                listener {port} 127.0.0.1
                allow_anonymous true
                persistence false
                set_tcp_nodelay true
                max_connections -1

                """).ConfigureAwait(false);
            var process = ChildProcess.Start(executable, ["-c", config]);
            await process.WaitListeningAsync("mosquitto", port, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            return new MosquittoBroker { Port = port, Process = process, Description = $"mosquitto ({executable}, child process; the gate relays to it over TCP)" };
        }

        public override ValueTask DisposeAsync()
        {
            Process.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Started by each gate process, on the port chosen here: it lives and ends with the gate.</summary>
    private sealed class GateEmbeddedBroker : Broker
    {
        public override bool InGate => true;

        public override long? ResidentBytes => null;

        public override IReadOnlyList<string> GateArguments => ["--embedded-broker-listen", $"127.0.0.1:{Port}"];

        public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
