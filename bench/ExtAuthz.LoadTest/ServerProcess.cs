using System.Globalization;
using System.Net;
using ExtAuthz.Bench;

namespace ExtAuthz.LoadTest;

/// <summary>A server under test: a <see cref="ChildProcess"/> with a name and the loopback endpoint it was told to listen on. Killed on dispose.</summary>
internal sealed class ServerProcess : IDisposable
{
    private readonly ChildProcess process;

    private ServerProcess(string name, IPEndPoint endpoint, ChildProcess process)
    {
        Name = name;
        Endpoint = endpoint;
        this.process = process;
    }

    public string Name { get; }

    public IPEndPoint Endpoint { get; }

    public string CommandLine => process.CommandLine;

    public bool HasExited => process.HasExited;

    /// <summary>CPU time the process has used so far (user + system, all threads).</summary>
    public TimeSpan CpuTime => process.CpuTime;

    public string RecentOutput => process.RecentOutput;

    /// <summary>
    /// Starts <paramref name="fileName"/> with <paramref name="arguments"/> (<c>{port}</c> in an argument
    /// becomes a free loopback port) and <paramref name="environment"/> added to this process's environment,
    /// under <c>taskset -c <paramref name="cpus"/></c> when given.
    /// </summary>
    public static ServerProcess Start(string name, string fileName, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment, string? cpus)
    {
        var endpoint = new IPEndPoint(IPAddress.Loopback, ChildProcess.FreePort());
        var port = endpoint.Port.ToString(CultureInfo.InvariantCulture);
        return new ServerProcess(name, endpoint,
            ChildProcess.Start(fileName, arguments.Select(a => a.Replace("{port}", port, StringComparison.Ordinal)), environment, cpus));
    }

    /// <summary>Calls <paramref name="probe"/> until it returns true; throws when the process exits or <paramref name="timeout"/> passes.</summary>
    public Task WaitReadyAsync(Func<Task<bool>> probe, TimeSpan timeout) => process.WaitReadyAsync(Name, probe, timeout);

    public void Dispose() => process.Dispose();
}
