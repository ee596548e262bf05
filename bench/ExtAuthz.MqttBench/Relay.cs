using System.Net;
using System.Net.Sockets;
using ExtAuthz.Bench;

namespace ExtAuthz.MqttBench;

/// <summary>
/// The no-op baseline for a gate in front of an external broker: a process that copies bytes between each client
/// and the broker and does nothing else. What it adds to a round trip is what any TCP relay adds on this machine.
/// </summary>
internal sealed class Relay : IDisposable
{
    private readonly ChildProcess process;

    private Relay(ChildProcess process, int port)
    {
        this.process = process;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Starts this program as a relay (`ExtAuthz.MqttBench relay LISTEN_PORT TARGET_PORT`).</summary>
    public static async Task<Relay> StartAsync(int targetPort)
    {
        var port = ChildProcess.FreePort();
        var process = ChildProcess.Start("dotnet", [typeof(Relay).Assembly.Location, "relay", port.ToString(System.Globalization.CultureInfo.InvariantCulture), targetPort.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await process.WaitListeningAsync("relay", port, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        return new Relay(process, port);
    }

    /// <summary>The relay itself: one task per direction per connection, each awaiting a receive and sending what came.</summary>
    public static async Task RunAsync(int listenPort, int targetPort)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, listenPort));
        listener.Listen(512);
        while (true)
        {
            var client = await listener.AcceptAsync().ConfigureAwait(false);
            _ = Task.Run(async () =>
            {
                using (client)
                using (var broker = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true })
                {
                    client.NoDelay = true;
                    try
                    {
                        await broker.ConnectAsync(IPAddress.Loopback, targetPort).ConfigureAwait(false);
                        await Task.WhenAny(CopyAsync(client, broker), CopyAsync(broker, client)).ConfigureAwait(false);
                    }
                    catch (SocketException)
                    {
                        // Either side went away: both close.
                    }
                }
            });
        }
    }

    public void Dispose() => process.Dispose();

    private static async Task CopyAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await from.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false)) > 0)
        {
            await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None).ConfigureAwait(false);
        }
    }
}
