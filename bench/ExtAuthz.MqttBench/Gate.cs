using System.Net;
using ExtAuthz.Bench;

namespace ExtAuthz.MqttBench;

/// <summary>
/// `extauthz serve` as a child process: the gate's own listener on plain TCP (--mqtt-insecure-as, every client is
/// the fleet's certificate, no TLS handshake), forwarding to the broker; no Envoy intakes, no decision log.
/// </summary>
internal sealed class Gate : IDisposable
{
    private readonly ChildProcess process;

    private Gate(ChildProcess process, int port)
    {
        this.process = process;
        Port = port;
    }

    public int Port { get; }

    public int ProcessId => process.Id;

    public string CommandLine => process.CommandLine;

    public long ResidentBytes => process.ResidentBytes;

    public TimeSpan CpuTime => process.CpuTime;

    public static async Task<Gate> StartAsync(string extauthzDll, Fleet fleet, Broker broker)
    {
        var port = ChildProcess.FreePort();
        var admin = ChildProcess.FreePort();
        var process = ChildProcess.Start("dotnet",
        [
            extauthzDll, "serve", "--config", fleet.Directory,
            "--mqtt-listen", $"127.0.0.1:{port}", "--mqtt-insecure-as", fleet.CertificateId,
            .. broker.GateArguments,
            "--listen", "127.0.0.1:0", "--admin", $"127.0.0.1:{admin}",
            "--mqtt-tunnel", "off", "--mqtt-websocket", "off", "--http-publish", "off", "--decision-log", "off", "--log-level", "warning",
        ]);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await process.WaitReadyAsync("extauthz serve", async () =>
            (await http.GetAsync(new Uri($"http://127.0.0.1:{admin}/readyz")).ConfigureAwait(false)).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        return new Gate(process, port);
    }

    public void Dispose() => process.Dispose();
}
