using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace ExtAuthz.Benchmarks;

/// <summary>
/// Configuration shared by the micro-benchmarks (Decide, Explain): one launch, 5 warm-up and 15
/// measured iterations of BenchmarkDotNet's default ~0.5 s each, so the whole suite stays within a
/// few minutes on a 2-core machine. Benchmarks run in-process (InProcessEmitToolchain): the host
/// process is already a Release build, and BenchmarkDotNet's default out-of-process toolchain would
/// rebuild the engine into the source tree's bin/obj, which other builds share.
/// </summary>
public sealed class MicroConfig : ManualConfig
{
    public MicroConfig()
    {
        AddJob(Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(5)
            .WithIterationCount(15)
            .WithId("Micro"));
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(BenchmarkDotNet.Columns.StatisticColumn.Median);
    }
}

/// <summary>
/// Configuration for the compile benchmark, whose single operation (10,000 parses) takes on the
/// order of a second: no pilot stage, one invocation per iteration, 2 warm-up and 7 measured iterations.
/// </summary>
public sealed class MacroConfig : ManualConfig
{
    public MacroConfig()
    {
        AddJob(Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithStrategy(RunStrategy.Monitoring)
            .WithLaunchCount(1)
            .WithWarmupCount(2)
            .WithIterationCount(7)
            .WithId("Macro"));
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(BenchmarkDotNet.Columns.StatisticColumn.Median);
    }
}
