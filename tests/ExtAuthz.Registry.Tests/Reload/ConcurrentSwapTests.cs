using System.Diagnostics;
using Xunit.Abstractions;

namespace ExtAuthz.Registry.Tests.Reload;

/// <summary>
/// Readers never see a mixed snapshot: reader threads check, on every snapshot they read, that the
/// registry document and the policy file agree on the version, while a writer swaps the ConfigMap
/// volume again and again and forced reloads race the swaps.
/// </summary>
[Collection(ReloadTestsRunAlone.Name)]
public sealed class ConcurrentSwapTests(ITestOutputHelper output) : IDisposable
{
    private readonly ConfigMapVolume volume = new();

    public void Dispose() => volume.Dispose();

    [Fact]
    public async Task Readers_never_see_a_mixed_snapshot_while_the_volume_is_swapped()
    {
        const int Swaps = 60;
        const int Readers = 4;
        volume.Publish(Versioned.Files(0));
        var logger = new TestLogger();
        await using var source = new RegistrySource([volume.Path], new RegistrySourceOptions
        {
            Debounce = TimeSpan.FromMilliseconds(5),
            MaxDebounce = TimeSpan.FromMilliseconds(50),
            PollInterval = TimeSpan.FromMilliseconds(50),
        }, logger);
        source.Start();

        using var stop = new CancellationTokenSource();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        void Fail(string failure)
        {
            if (failures.Count < 20)
            {
                failures.Enqueue(failure);
            }
        }

        var reads = new long[Readers];
        var versionsSeen = new HashSet<int>[Readers];
        var readers = Enumerable.Range(0, Readers).Select(r =>
        {
            versionsSeen[r] = [];
            var thread = new Thread(() =>
            {
                long lastGeneration = 0;
                var lastVersion = -1;
                while (!stop.IsCancellationRequested)
                {
                    var snapshot = source.Current!;
                    try
                    {
                        var version = Versioned.VersionOf(snapshot);
                        if (snapshot.Generation < lastGeneration || (snapshot.Generation == lastGeneration && version != lastVersion))
                        {
                            Fail($"reader {r}: generation {snapshot.Generation} (version {version}) after {lastGeneration} (version {lastVersion})");
                        }

                        lastGeneration = snapshot.Generation;
                        lastVersion = version;
                        versionsSeen[r].Add(version);
                    }
                    catch (InvalidOperationException ex)
                    {
                        Fail($"reader {r}: {ex.Message}");
                    }

                    if ((++reads[r] & 0xFFF) == 0)
                    {
                        Thread.Yield(); // spin, but let the writer and the reloads have a core now and then
                    }
                }
            })
            { IsBackground = true, Name = $"reader {r}" };
            thread.Start();
            return thread;
        }).ToArray();

        // Forced reloads race the swaps, so loads often read while ..data moves.
        var forced = Task.Run(async () =>
        {
            var outcomes = new Dictionary<ReloadOutcome, int>();
            while (!stop.IsCancellationRequested)
            {
                var outcome = (await source.ReloadNowAsync()).Outcome;
                outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            }

            return outcomes;
        });

        var watch = Stopwatch.StartNew();
        var random = new Random(42);
        for (var n = 1; n <= Swaps; n++)
        {
            volume.Publish(Versioned.Files(n));
            if (random.Next(3) == 0)
            {
                await Task.Delay(random.Next(1, 15));
            }
        }

        var final = await Waiting.Until(() => Versioned.VersionOf(source.Current!) == Swaps, TimeSpan.FromSeconds(10), "the last swap");
        await stop.CancelAsync();
        foreach (var reader in readers)
        {
            reader.Join();
        }

        var outcomes = await forced;
        var status = source.Status;
        output.WriteLine($"{Swaps} swaps in {watch.ElapsedMilliseconds} ms; last in effect {final.TotalMilliseconds:F0} ms after the loop ended; " +
            $"{status.ReloadCount} generations, {status.AttemptCount} settled load attempts; forced: {string.Join(", ", outcomes.Select(o => $"{o.Key} {o.Value}"))}; " +
            $"loads thrown away because ..data moved while reading: {logger.Entries.Count(e => e.Id.Id == 3005)}; reads: {string.Join(", ", reads)}; distinct versions seen per reader: {string.Join(", ", versionsSeen.Select(v => v.Count))}");
        Assert.Empty(failures);
        Assert.Equal(0, status.RefusedCount);
        Assert.All(reads, r => Assert.True(r > 0));
        Assert.True(status.ReloadCount >= 3, $"only {status.ReloadCount} generations: the swaps were not read while readers ran");
        Assert.Equal(status.ReloadCount, source.Current!.Generation);
    }
}
