using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using ExtAuthz.Registry;

namespace ExtAuthz.Benchmarks;

/// <summary>
/// <c>reload-latency</c>: how long a ConfigMap update takes to be in effect. Builds a volume laid out as
/// the kubelet lays it out (<c>..data</c> → timestamped folder, <c>key → ..data/key</c>), starts a
/// <see cref="RegistrySource"/> on it, and times each of N updates from the atomic rename of
/// <c>..data</c> to the new generation being <see cref="RegistrySource.Current"/>; with the file
/// watcher (default options) and with the periodic check alone. Bounded in count and time.
/// </summary>
public static class ReloadLatency
{
    public static async Task<int> RunAsync(string[] args)
    {
        var updates = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 30;
        Console.WriteLine($"reload latency: {updates} updates per case, from the ..data rename to the new snapshot in effect");
        Console.WriteLine("| Configuration | Change detection | p50 | p90 | max |");
        Console.WriteLine("|---|---|---:|---:|---:|");
        foreach (var policies in new[] { 5, 10_000 })
        {
            foreach (var watch in new[] { true, false })
            {
                var samples = await MeasureAsync(policies, watch, updates).ConfigureAwait(false);
                samples.Sort();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {policies:N0} policies | {(watch ? "file watcher (default)" : "periodic check only (1 s)")} | {Ms(samples, 0.5)} | {Ms(samples, 0.9)} | {samples[^1].TotalMilliseconds:F0} ms |"));
            }
        }

        return 0;
    }

    private static string Ms(List<TimeSpan> sorted, double quantile) =>
        string.Create(CultureInfo.InvariantCulture, $"{sorted[(int)Math.Min(sorted.Count - 1, Math.Ceiling(quantile * sorted.Count) - 1)].TotalMilliseconds:F0} ms");

    private static async Task<List<TimeSpan>> MeasureAsync(int policyCount, bool watch, int updates)
    {
        var root = Directory.CreateTempSubdirectory("extauthz-reload-latency-").FullName;
        try
        {
            var volume = new Volume(Path.Combine(root, "config"));
            var policies = Enumerable.Range(0, policyCount).ToDictionary(i => $"Policy{i:D5}.json", RegistryCorpus.PolicyText);
            volume.Publish(Files(policies, 0));
            var options = new RegistrySourceOptions { WatchFileSystem = watch };
            await using var source = new RegistrySource([volume.Path], options);
            source.Start();
            if (!source.IsReady)
            {
                throw new InvalidOperationException(source.Status.LastError);
            }

            var samples = new List<TimeSpan>();
            using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            for (var update = 1; update <= updates; update++)
            {
                var generation = source.Current!.Generation + 1;
                var started = Stopwatch.GetTimestamp();
                volume.Publish(Files(policies, update));
                await source.WaitForGenerationAsync(generation, deadline.Token).ConfigureAwait(false);
                samples.Add(Stopwatch.GetElapsedTime(started));
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

        public void Publish(Dictionary<string, string> files)
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
        }
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
