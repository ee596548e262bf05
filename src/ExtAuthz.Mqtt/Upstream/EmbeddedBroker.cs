using System.Net;
using System.Net.Sockets;
using MQTTnet.Server;

namespace ExtAuthz.Mqtt.Upstream;

/// <summary>
/// An MQTTnet broker in the same process, on a random loopback port, for when no <c>--broker</c> is
/// configured: <c>extauthz serve</c> on its defaults is then a complete system. Persistent sessions
/// and retained messages live in memory and end with the process. Any local process can reach the
/// port directly, past the gate: a production deployment names its own broker.
/// </summary>
public sealed class EmbeddedBroker : IAsyncDisposable
{
    /// <summary>Tries at binding a port that was free a moment before (another process may take it in between).</summary>
    private const int BindAttempts = 5;

    private readonly MqttServer server;

    private EmbeddedBroker(MqttServer server, int port)
    {
        this.server = server;
        Endpoint = new BrokerEndpoint(IPAddress.Loopback.ToString(), port, Tls: false);
    }

    public BrokerEndpoint Endpoint { get; }

    /// <summary>The MQTTnet server itself, for tests that watch what reaches the broker.</summary>
    public MqttServer Server => server;

    public static async Task<EmbeddedBroker> StartAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreeLoopbackPort();
            var options = new MqttServerOptionsBuilder()
                .WithDefaultEndpoint()
                .WithDefaultEndpointBoundIPAddress(IPAddress.Loopback)
                .WithDefaultEndpointBoundIPV6Address(IPAddress.None)
                .WithDefaultEndpointPort(port)
                .WithPersistentSessions()
                .Build();
            var server = new MqttServerFactory().CreateMqttServer(options);
            try
            {
                await server.StartAsync().ConfigureAwait(false);
                return new EmbeddedBroker(server, port);
            }
            catch (SocketException) when (attempt < BindAttempts)
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
        server.Dispose();
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
