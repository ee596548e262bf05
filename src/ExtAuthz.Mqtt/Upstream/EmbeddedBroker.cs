using System.Net;
using System.Net.Sockets;
using MQTTnet.Server;

namespace ExtAuthz.Mqtt.Upstream;

/// <summary>
/// An MQTTnet broker in the same process, for when no <c>--broker</c> is configured: <c>extauthz serve</c>
/// on its defaults is then a complete system. The gate hands its connections to it in memory
/// (<see cref="Connector"/>); it also listens on a loopback port (random unless given) for the HTTP
/// publisher and for local tools. Any local process can reach that port directly, past the gate: a
/// production deployment names its own broker. Persistent sessions and retained messages live in memory
/// and end with the process.
/// </summary>
public sealed class EmbeddedBroker : IAsyncDisposable
{
    /// <summary>
    /// Messages the broker holds for one client before it drops the oldest. MQTTnet's default, 1,000, drops part of
    /// a burst that a subscriber has not taken yet, and the gate hands a device's publishes to the broker in memory,
    /// faster than a socket would.
    /// </summary>
    public const int PendingMessagesPerClient = 10_000;

    /// <summary>Tries at binding a random port that was free a moment before (another process may take it in between).</summary>
    private const int BindAttempts = 5;

    private readonly MqttServer server;
    private readonly InProcessConnections inProcess;

    private EmbeddedBroker(MqttServer server, InProcessConnections inProcess, IPEndPoint listen)
    {
        this.server = server;
        this.inProcess = inProcess;
        Endpoint = new BrokerEndpoint(listen.Address.ToString(), listen.Port, Tls: false);
        Connector = new InProcessConnector(inProcess);
    }

    /// <summary>The broker's TCP listener.</summary>
    public BrokerEndpoint Endpoint { get; }

    /// <summary>Connections to the broker in memory, without a socket: what the gate forwards through.</summary>
    public IBrokerConnector Connector { get; }

    /// <summary>The MQTTnet server itself, for tests that watch what reaches the broker.</summary>
    public MqttServer Server => server;

    /// <param name="listen">Where the TCP listener binds; null for a random loopback port, port 0 for a random one on its address.</param>
    /// <exception cref="SocketException">The address cannot be bound.</exception>
    public static async Task<EmbeddedBroker> StartAsync(IPEndPoint? listen = null)
    {
        var address = listen?.Address ?? IPAddress.Loopback;
        var randomPort = listen is null or { Port: 0 };
        for (var attempt = 1; ; attempt++)
        {
            var bind = randomPort ? new IPEndPoint(address, FreePort(address)) : listen!;
            var v6 = bind.AddressFamily == AddressFamily.InterNetworkV6;
            var options = new MqttServerOptionsBuilder()
                .WithDefaultEndpoint()
                .WithDefaultEndpointBoundIPAddress(v6 ? IPAddress.None : bind.Address)
                .WithDefaultEndpointBoundIPV6Address(v6 ? bind.Address : IPAddress.None)
                .WithDefaultEndpointPort(bind.Port)
                .WithPersistentSessions()
                .WithMaxPendingMessagesPerClient(PendingMessagesPerClient)
                .Build();
            var factory = new MqttServerFactory();
            var inProcess = new InProcessConnections();
            var adapters = factory.DefaultServerAdapters.Select(create => create(factory)).Append(inProcess).ToList();
            var server = factory.CreateMqttServer(options, adapters);
            try
            {
                await server.StartAsync().ConfigureAwait(false);
                return new EmbeddedBroker(server, inProcess, bind);
            }
            catch (SocketException) when (randomPort && attempt < BindAttempts)
            {
                server.Dispose();
            }
            catch
            {
                server.Dispose();
                throw;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await server.StopAsync().ConfigureAwait(false);
        await inProcess.StopAsync().ConfigureAwait(false);
        server.Dispose();
    }

    private static int FreePort(IPAddress address)
    {
        using var listener = new TcpListener(address, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class InProcessConnector(InProcessConnections connections) : IBrokerConnector
    {
        public string Description => "the embedded broker (in process)";

        public ValueTask<BrokerConnection> ConnectAsync(CancellationToken cancellationToken) => ValueTask.FromResult(connections.Connect());
    }
}
