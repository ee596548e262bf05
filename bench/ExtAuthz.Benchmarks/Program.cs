using BenchmarkDotNet.Running;

namespace ExtAuthz.Benchmarks;

public static class Program
{
    /// <summary>BenchmarkDotNet's switcher (pick with --filter), <c>reload-latency [UPDATES] [all|small|large] [--verbose]</c>, or <c>profile-load [fleet|policies|certificates] [LOADS]</c>.</summary>
    public static async Task<int> Main(string[] args)
    {
        if (args is ["reload-latency", ..])
        {
            return await ReloadLatency.RunAsync(args[1..]).ConfigureAwait(false);
        }

        if (args is ["profile-load", ..])
        {
            return ProfileLoad.Run(args[1..]);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
