using System.Diagnostics;
using System.Globalization;
using ExtAuthz.Registry;

namespace ExtAuthz.Benchmarks;

/// <summary>
/// <c>profile-load [fleet|policies|certificates] [LOADS]</c>: loads one of the generated registry
/// directories LOADS times in a loop and prints each load's time, for profiling with <c>perf</c>
/// (run with <c>DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0</c>). Not a benchmark; the figures are in RegistryReloadBenchmarks.
/// </summary>
public static class ProfileLoad
{
    public static int Run(string[] args)
    {
        var which = args.Length > 0 ? args[0] : "fleet";
        var loads = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        if (loads is < 1 or > 100)
        {
            Console.Error.WriteLine("usage: profile-load [fleet|policies|certificates] [LOADS (1-100)]");
            return 2;
        }

        var directory = which switch
        {
            "fleet" => RegistryCorpus.Fleet(policies: 10_000, certificates: 100_000),
            "policies" => RegistryCorpus.Fleet(policies: 10_000, certificates: 0),
            "certificates" => RegistryCorpus.Fleet(policies: 0, certificates: 100_000),
            _ => null,
        };
        if (directory is null)
        {
            Console.Error.WriteLine("usage: profile-load [fleet|policies|certificates] [LOADS (1-100)]");
            return 2;
        }

        for (var i = 0; i < loads; i++)
        {
            var stopwatch = Stopwatch.StartNew();
            var snapshot = RegistryLoader.Load([directory]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"load {i + 1}: {stopwatch.Elapsed.TotalMilliseconds:F0} ms ({snapshot.Policies.Count:N0} policies, {snapshot.Certificates.Count:N0} certificates, {snapshot.Things.Count:N0} things)"));
        }

        return 0;
    }
}
