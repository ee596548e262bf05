using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using ExtAuthz.Registry;

namespace ExtAuthz.Benchmarks;

/// <summary>Loads that take seconds: no pilot, one load per iteration, 1 warm-up and 3 measured iterations.</summary>
public sealed class LoadConfig : ManualConfig
{
    public LoadConfig()
    {
        AddJob(Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithStrategy(RunStrategy.Monitoring)
            .WithLaunchCount(1)
            .WithWarmupCount(1)
            .WithIterationCount(3)
            .WithId("Load"));
        AddDiagnoser(BenchmarkDotNet.Diagnosers.MemoryDiagnoser.Default);
        AddColumn(BenchmarkDotNet.Columns.StatisticColumn.Median);
    }
}

/// <summary>
/// A full registry load (off the request path): 10,000 policies and 100,000 certificates together, a
/// reload of the same (certificates reused from the previous snapshot, as RegistrySource reloads),
/// and each part alone so the split is visible. The directories are generated once (see
/// <see cref="RegistryCorpus"/>) and reused.
/// </summary>
[Config(typeof(LoadConfig))]
public class RegistryReloadBenchmarks
{
    private string fleet = "";
    private string policiesOnly = "";
    private string certificatesOnly = "";
    private RegistrySnapshot loaded = null!;

    [GlobalSetup]
    public void Setup()
    {
        fleet = RegistryCorpus.Fleet(policies: 10_000, certificates: 100_000);
        policiesOnly = RegistryCorpus.Fleet(policies: 10_000, certificates: 0);
        certificatesOnly = RegistryCorpus.Fleet(policies: 0, certificates: 100_000);
        loaded = RegistryLoader.Load([fleet]);
        if (loaded.Policies.Count != 10_000 || loaded.Certificates.Count != 100_000 || loaded.Things.Count != 100_000 / RegistryCorpus.ThingEvery)
        {
            throw new InvalidOperationException("the generated fleet did not load as generated");
        }
    }

    [Benchmark(Description = "Load 10,000 policies + 100,000 certificates")]
    public RegistrySnapshot LoadFleet() => RegistryLoader.Load([fleet]);

    [Benchmark(Description = "Reload 10,000 policies + 100,000 certificates (previous snapshot given)")]
    public RegistrySnapshot ReloadFleet() => RegistryLoader.Load([fleet], generation: 2, previous: loaded);

    [Benchmark(Description = "Load 10,000 policies")]
    public RegistrySnapshot LoadPolicies() => RegistryLoader.Load([policiesOnly]);

    [Benchmark(Description = "Load 100,000 certificates")]
    public RegistrySnapshot LoadCertificates() => RegistryLoader.Load([certificatesOnly]);
}
