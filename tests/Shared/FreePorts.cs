using System.Net;
using System.Net.Sockets;

namespace ExtAuthz.Tests.Shared;

/// <summary>
/// Loopback ports for servers a test starts on a port it names (compiled into the test projects that need one:
/// <c>&lt;Compile Include="..\Shared\FreePorts.cs"/&gt;</c>).
/// </summary>
internal static class FreePorts
{
    /// <summary>
    /// A loopback port nothing listens on now, chosen at random below Linux's ephemeral range (32768 and up):
    /// there no client connection of another test takes it by chance, as one can a port the system handed out.
    /// Another test may still choose the same one; a server that cannot bind it should try another.
    /// </summary>
    public static int Next()
    {
        while (true)
        {
            var port = Random.Shared.Next(20_000, 32_768);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // In use: another.
            }
        }
    }
}
