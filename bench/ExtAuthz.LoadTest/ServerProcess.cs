using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ExtAuthz.LoadTest;

/// <summary>
/// A server under test, run as a child process (optionally under <c>taskset -c CPUS</c>, which pins all of
/// its threads), with its output drained and the last lines kept for error messages. Killed on dispose.
/// </summary>
internal sealed class ServerProcess : IDisposable
{
    private const int KeptLines = 40;

    private readonly Process process;
    private readonly Queue<string> lastLines = new();

    private ServerProcess(string name, IPEndPoint endpoint, Process process, string commandLine)
    {
        Name = name;
        Endpoint = endpoint;
        this.process = process;
        CommandLine = commandLine;
    }

    public string Name { get; }

    public IPEndPoint Endpoint { get; }

    public string CommandLine { get; }

    public bool HasExited => process.HasExited;

    /// <summary>CPU time the process has used so far (user + system, all threads).</summary>
    public TimeSpan CpuTime
    {
        get
        {
            process.Refresh();
            return process.TotalProcessorTime;
        }
    }

    /// <summary>The last lines the process wrote (standard output and error).</summary>
    public string RecentOutput
    {
        get
        {
            lock (lastLines)
            {
                return string.Join('\n', lastLines);
            }
        }
    }

    /// <summary>
    /// Starts <paramref name="fileName"/> with <paramref name="arguments"/> (<c>{port}</c> in an argument
    /// becomes a free loopback port) and <paramref name="environment"/> added to this process's environment.
    /// </summary>
    public static ServerProcess Start(string name, string fileName, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment, string? cpus)
    {
        var endpoint = new IPEndPoint(IPAddress.Loopback, FreePort());
        var start = new ProcessStartInfo
        {
            FileName = cpus is null ? fileName : "taskset",
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (cpus is not null)
        {
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(cpus);
            start.ArgumentList.Add(fileName);
        }

        foreach (var (variable, value) in environment)
        {
            start.Environment[variable] = value;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument.Replace("{port}", endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
        }

        var process = new Process { StartInfo = start };
        var server = new ServerProcess(name, endpoint, process, string.Join(' ', start.ArgumentList.Prepend(start.FileName)));
        process.OutputDataReceived += (_, line) => server.Keep(line.Data);
        process.ErrorDataReceived += (_, line) => server.Keep(line.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Calls <paramref name="probe"/> until it returns true; throws when the process exits or <paramref name="timeout"/> passes.</summary>
    public async Task WaitReadyAsync(Func<Task<bool>> probe, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var stopwatch = Stopwatch.StartNew();
        Exception? last = null;
        while (stopwatch.Elapsed < timeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with status {process.ExitCode} before it was ready:\n{RecentOutput}");
            }

            try
            {
                if (await probe().ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (Grpc.Core.RpcException ex)
            {
                // Not listening yet (Unavailable) or still starting; the last failure is reported on timeout.
                last = ex;
            }

            await Task.Delay(200).ConfigureAwait(false);
        }

        throw new TimeoutException($"{Name} was not ready within {timeout.TotalSeconds:F0} s ({last?.Message ?? "its answers were not OK"}):\n{RecentOutput}");
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }

        process.Dispose();
    }

    /// <summary>A loopback port nothing listens on now (another process could take it before the server binds; then it fails to start, loudly).</summary>
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (lastLines)
        {
            lastLines.Enqueue(line);
            if (lastLines.Count > KeptLines)
            {
                lastLines.Dequeue();
            }
        }
    }
}
