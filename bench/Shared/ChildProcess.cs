using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace ExtAuthz.Bench;

/// <summary>
/// A server run as a child process by a benchmark (the service, the no-op server, the gate, mosquitto),
/// optionally under <c>taskset -c CPUS</c> (which pins all of its threads), with its output drained and
/// the last lines kept for error messages. Killed on dispose. Compiled into each benchmark project that
/// starts servers.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private const int KeptLines = 40;

    private readonly Process process;
    private readonly Queue<string> lastLines = new();

    private ChildProcess(Process process, string commandLine)
    {
        this.process = process;
        CommandLine = commandLine;
    }

    public string CommandLine { get; }

    public int Id => process.Id;

    public bool HasExited => process.HasExited;

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

    /// <summary>Resident set size (VmRSS of /proc/PID/status), in bytes.</summary>
    public long ResidentBytes
    {
        get
        {
            var line = File.ReadLines($"/proc/{process.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
    }

    /// <summary>CPU time used so far (user + system, all threads).</summary>
    public TimeSpan CpuTime
    {
        get
        {
            process.Refresh();
            return process.TotalProcessorTime;
        }
    }

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="environment"/> added to this process's, under <c>taskset -c <paramref name="cpus"/></c> when given.</summary>
    public static ChildProcess Start(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, string? cpus = null)
    {
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

        foreach (var (variable, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[variable] = value;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start };
        var child = new ChildProcess(process, string.Join(' ', start.ArgumentList.Prepend(start.FileName)));
        process.OutputDataReceived += (_, line) => child.Keep(line.Data);
        process.ErrorDataReceived += (_, line) => child.Keep(line.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>
    /// Calls <paramref name="probe"/> until it returns true (a probe that throws counts as not ready yet:
    /// not listening, still starting); throws when the process exits or <paramref name="timeout"/> passes,
    /// with the last failure and the process's last output.
    /// </summary>
    public async Task WaitReadyAsync(string name, Func<Task<bool>> probe, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var stopwatch = Stopwatch.StartNew();
        Exception? last = null;
        while (stopwatch.Elapsed < timeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{name} exited with status {process.ExitCode} before it was ready:\n{RecentOutput}");
            }

            try
            {
                if (await probe().ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                last = ex;
            }

            await Task.Delay(200).ConfigureAwait(false);
        }

        throw new TimeoutException($"{name} was not ready within {timeout.TotalSeconds:F0} s ({last?.Message ?? "its answers were not ready"}):\n{RecentOutput}");
    }

    /// <summary><see cref="WaitReadyAsync"/> until something accepts a TCP connection on the loopback <paramref name="port"/>.</summary>
    public Task WaitListeningAsync(string name, int port, TimeSpan timeout) => WaitReadyAsync(name, async () =>
    {
        using var probe = new TcpClient();
        await probe.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
        return true;
    }, timeout);

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
    public static int FreePort()
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
