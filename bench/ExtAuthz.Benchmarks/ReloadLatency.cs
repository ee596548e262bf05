using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using ExtAuthz.Registry;

namespace ExtAuthz.Benchmarks;

/// <summary>
/// <c>reload-latency</c>: how long a ConfigMap update takes to be in effect. Builds a volume laid out as
/// the kubelet lays it out (<c>..data</c> → timestamped folder, <c>key → ..data/key</c>), starts a
/// <see cref="RegistrySource"/> on it, and times each of N updates from the atomic rename of
/// <c>..data</c> to the new generation being <see cref="RegistrySource.Current"/> (taken in a
/// <see cref="RegistrySource.SnapshotChanged"/> handler, awaited with <see cref="RegistrySource.WaitForGenerationAsync"/>); with the file
/// watcher (default options) and with the periodic check alone. Bounded in count and time.
/// </summary>
public static class ReloadLatency
{
    /// <summary>
    /// Pause before each update: at least 300 ms, so that each is timed from a quiet state, plus a random
    /// 0–1,000 ms (fixed seed), so that updates land at every phase of the 1 s periodic check rather than
    /// in step with it.
    /// </summary>
    private static TimeSpan Pause(Random random) => TimeSpan.FromMilliseconds(300 + random.Next(1_000));

    public static async Task<int> RunAsync(string[] args)
    {
        var verbose = args.Contains("--verbose");
        args = [.. args.Where(a => a != "--verbose")];
        var updates = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 30;
        var sizes = args.Length > 1 ? args[1] : "all";
        if (updates is < 1 or > 1_000 || sizes is not ("all" or "small" or "large"))
        {
            Console.Error.WriteLine("usage: reload-latency [UPDATES (1-1000, default 30)] [all|small|large] [--verbose]");
            return 2;
        }

        var defaults = new RegistrySourceOptions();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"reload latency: {updates} updates per case, from the atomic ..data rename to the new snapshot being Current; defaults: debounce {defaults.Debounce.TotalMilliseconds:F0} ms, max debounce {defaults.MaxDebounce.TotalMilliseconds:F0} ms, poll {defaults.PollInterval.TotalMilliseconds:F0} ms; {Environment.ProcessorCount} cores"));
        Console.WriteLine("| Configuration | Change detection | p50 | p90 | max |");
        Console.WriteLine("|---|---|---:|---:|---:|");
        int[] configurations = sizes switch { "small" => [5], "large" => [10_000], _ => [5, 10_000] };
        foreach (var policies in configurations)
        {
            foreach (var watch in new[] { true, false })
            {
                var samples = await MeasureAsync(policies, watch, updates, verbose).ConfigureAwait(false);
                samples.Sort();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {policies:N0} policies | {(watch ? "file watcher (default options)" : $"periodic check only (WatchFileSystem = false, poll {defaults.PollInterval.TotalSeconds:F0} s)")} | {Ms(samples, 0.5)} | {Ms(samples, 0.9)} | {samples[^1].TotalMilliseconds:F0} ms |"));
            }
        }

        return 0;
    }

    private static string Ms(List<TimeSpan> sorted, double quantile) =>
        string.Create(CultureInfo.InvariantCulture, $"{sorted[(int)Math.Min(sorted.Count - 1, Math.Ceiling(quantile * sorted.Count) - 1)].TotalMilliseconds:F0} ms");

    private static async Task<List<TimeSpan>> MeasureAsync(int policyCount, bool watch, int updates, bool verbose)
    {
        var root = Directory.CreateTempSubdirectory("extauthz-reload-latency-").FullName;
        try
        {
            var volume = new Volume(Path.Combine(root, "config"));
            var policies = Enumerable.Range(0, policyCount).ToDictionary(i => $"Policy{i:D5}.json", RegistryCorpus.PolicyText);
            _ = volume.Publish(Files(policies, 0));
            var options = new RegistrySourceOptions { WatchFileSystem = watch };
            await using var source = new RegistrySource([volume.Path], options, verbose ? new TraceLogger() : null);
            // When each generation became Current: the event is raised on the reloading thread right after the swap,
            // so the time is exact even while this thread is still deleting the old folder.
            var swappedAt = new System.Collections.Concurrent.ConcurrentDictionary<long, long>();
            source.SnapshotChanged += (_, e) => swappedAt[e.Current.Generation] = Stopwatch.GetTimestamp();
            source.Start();
            if (!source.IsReady)
            {
                throw new InvalidOperationException(source.Status.LastError);
            }

            var samples = new List<TimeSpan>();
            var random = new Random(42);
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60 + (20 * updates)));
            for (var update = 1; update <= updates; update++)
            {
                // Let the previous update's events and reload settle, as between two real ConfigMap updates.
                await Task.Delay(Pause(random), deadline.Token).ConfigureAwait(false);
                var generation = source.Current!.Generation + 1;
                var writing = Stopwatch.GetTimestamp();
                var renamed = volume.Publish(Files(policies, update));
                var published = Stopwatch.GetElapsedTime(writing);
                var group = $"update-{update}";
                var snapshot = await source.WaitForGenerationAsync(generation, deadline.Token).ConfigureAwait(false);
                while (!snapshot.ThingGroups.ContainsKey(group))
                {
                    snapshot = await source.WaitForGenerationAsync(snapshot.Generation + 1, deadline.Token).ConfigureAwait(false);
                }

                // The waiter can run a moment before the handler (the signal is completed first); the handler follows at once.
                long swapped;
                while (!swappedAt.TryGetValue(snapshot.Generation, out swapped))
                {
                    deadline.Token.ThrowIfCancellationRequested();
                    await Task.Yield();
                }

                var latency = Stopwatch.GetElapsedTime(renamed, swapped);
                samples.Add(latency);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"//   {DateTime.UtcNow:HH:mm:ss.fff} {policyCount} policies, {(watch ? "watcher" : "poll")}, update {update}: {latency.TotalMilliseconds:F0} ms after the rename at {DateTime.UtcNow - Stopwatch.GetElapsedTime(renamed):HH:mm:ss.fff} (writing the new folder took {Stopwatch.GetElapsedTime(writing, renamed).TotalMilliseconds:F0} ms; the links and deleting the old folder after the rename {(published - Stopwatch.GetElapsedTime(writing, renamed)).TotalMilliseconds:F0} ms)"));
            }

            if (source.Status.Refusing)
            {
                throw new InvalidOperationException("the source refused an update: " + source.Status.LastError);
            }

            return samples;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>The policies plus a registry document whose content changes with every update.</summary>
    private static Dictionary<string, string> Files(Dictionary<string, string> policies, int update) =>
        new(policies, StringComparer.Ordinal)
        {
            ["registry.yaml"] = $"account: \"{RegistryCorpus.Account}\"\nregion: {RegistryCorpus.Region}\nthingGroups:\n  - name: update-{update}\n",
        };

    /// <summary>A ConfigMap volume, updated as the kubelet updates it.</summary>
    private sealed class Volume(string path)
    {
        private int version;
        private string? current;

        public string Path { get; } = Directory.CreateDirectory(path).FullName;

        /// <summary>Writes a new timestamped folder, swaps <c>..data</c> to it, and returns the <see cref="Stopwatch"/> timestamp of the swap.</summary>
        public long Publish(Dictionary<string, string> files)
        {
            var folderName = $"..{DateTime.UtcNow:yyyy_MM_dd_HH_mm_ss}.{++version}";
            var folder = Directory.CreateDirectory(System.IO.Path.Combine(Path, folderName)).FullName;
            foreach (var (key, text) in files)
            {
                File.WriteAllText(System.IO.Path.Combine(folder, key), text);
            }

            var temporary = System.IO.Path.Combine(Path, "..data_tmp");
            File.Delete(temporary);
            File.CreateSymbolicLink(temporary, folderName);
            var renamed = Stopwatch.GetTimestamp();
            if (NativeMethods.rename(temporary, System.IO.Path.Combine(Path, "..data")) != 0)
            {
                throw new IOException($"rename failed: errno {Marshal.GetLastPInvokeError()}");
            }

            foreach (var key in files.Keys)
            {
                var link = System.IO.Path.Combine(Path, key);
                if (new FileInfo(link).LinkTarget is null)
                {
                    File.CreateSymbolicLink(link, $"..data/{key}");
                }
            }

            if (current is not null)
            {
                Directory.Delete(System.IO.Path.Combine(Path, current), recursive: true);
            }

            current = folderName;
            return renamed;
        }
    }

    /// <summary>--verbose: RegistrySource's log on standard error, with the time.</summary>
    private sealed class TraceLogger : Microsoft.Extensions.Logging.ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"//     {DateTime.UtcNow:HH:mm:ss.fff} {logLevel}: {formatter(state, exception)}"));
    }

    private static class NativeMethods
    {
#pragma warning disable SYSLIB1054 // LibraryImport would need AllowUnsafeBlocks.
        // File.Move refuses to replace a symlink to a directory; rename(2) swaps it atomically, as the kubelet does.
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static extern int rename([MarshalAs(UnmanagedType.LPUTF8Str)] string oldpath, [MarshalAs(UnmanagedType.LPUTF8Str)] string newpath);
#pragma warning restore SYSLIB1054
    }
}
