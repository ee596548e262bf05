using BenchmarkDotNet.Running;

namespace ExtAuthz.Benchmarks;

public static class Program
{
    /// <summary>BenchmarkDotNet's switcher (pick with --filter), or <c>reload-latency [UPDATES]</c>.</summary>
    public static async Task<int> Main(string[] args)
    {
        if (args is ["reload-latency", ..])
        {
            return await ReloadLatency.RunAsync(args[1..]).ConfigureAwait(false);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
