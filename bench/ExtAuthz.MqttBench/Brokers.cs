using System.Net;
using System.Net.Sockets;
using ExtAuthz.Bench;
using MQTTnet.Server;

namespace ExtAuthz.MqttBench;

/// <summary>The broker both paths publish to: a local mosquitto when one is installed, else MQTTnet's server in this process.</summary>
internal abstract class Broker : IAsyncDisposable
{
    private static readonly string[] MosquittoPaths = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"];

    public required int Port { get; init; }

    public required string Description { get; init; }

    /// <summary>The broker's resident set size in bytes, when it is a process of its own.</summary>
    public abstract long? ResidentBytes { get; }

    public static async Task<Broker> StartAsync(string kind, string directory)
    {
        var mosquitto = MosquittoPaths.FirstOrDefault(File.Exists);
        if (kind == "mosquitto" || (kind == "auto" && mosquitto is not null))
        {
            return await MosquittoBroker.LaunchAsync(mosquitto ?? throw new InvalidOperationException("--broker mosquitto: mosquitto is not installed"), directory).ConfigureAwait(false);
        }

        return await EmbeddedBroker.LaunchAsync().ConfigureAwait(false);
    }

    public abstract ValueTask DisposeAsync();

    private sealed class MosquittoBroker : Broker
    {
        public required ChildProcess Process { get; init; }

        public override long? ResidentBytes => Process.ResidentBytes;

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
            await process.WaitReadyAsync("mosquitto", async () =>
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
                return true;
            }, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            return new MosquittoBroker { Port = port, Process = process, Description = $"mosquitto ({executable}, child process)" };
        }

        public override ValueTask DisposeAsync()
        {
            Process.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class EmbeddedBroker : Broker
    {
        public required MqttServer Server { get; init; }

        public override long? ResidentBytes => null;

        public static async Task<Broker> LaunchAsync()
        {
            var port = ChildProcess.FreePort();
            var options = new MqttServerOptionsBuilder()
                .WithDefaultEndpoint()
                .WithDefaultEndpointBoundIPAddress(IPAddress.Loopback)
                .WithDefaultEndpointBoundIPV6Address(IPAddress.None)
                .WithDefaultEndpointPort(port)
                .Build();
            var server = new MqttServerFactory().CreateMqttServer(options);
            await server.StartAsync().ConfigureAwait(false);
            return new EmbeddedBroker { Port = port, Server = server, Description = "MQTTnet server (in the bench process)" };
        }

        public override async ValueTask DisposeAsync()
        {
            await Server.StopAsync().ConfigureAwait(false);
            Server.Dispose();
        }
    }
}
