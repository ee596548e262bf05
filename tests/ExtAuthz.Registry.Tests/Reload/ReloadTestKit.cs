using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace ExtAuthz.Registry.Tests.Reload;

/// <summary>
/// A directory laid out exactly as the kubelet mounts a ConfigMap volume: the data in a timestamped
/// folder <c>..YYYY_MM_DD_hh_mm_ss.N</c>, <c>..data</c> a symlink to it, each key a symlink
/// <c>key -> ..data/key</c>. <see cref="Publish"/> updates it as the kubelet does: a new timestamped
/// folder, a <c>..data_tmp</c> symlink renamed over <c>..data</c> (one atomic rename(2)), key links
/// added or removed, then the old folder deleted.
/// </summary>
internal sealed class ConfigMapVolume : IDisposable
{
    private int version;

    public ConfigMapVolume()
    {
        Root = Directory.CreateTempSubdirectory("extauthz-reload-").FullName;
        Path = System.IO.Path.Combine(Root, "config");
        Directory.CreateDirectory(Path);
    }

    /// <summary>A temp folder holding the volume and anything else a test needs.</summary>
    public string Root { get; }

    /// <summary>The mount point: what the service is given.</summary>
    public string Path { get; }

    public string? DataFolder { get; private set; }

    /// <summary>The path the loader reports for a key (the key's link in the mount).</summary>
    public string this[string key] => System.IO.Path.Combine(Path, key);

    public void Publish(IReadOnlyDictionary<string, string> files)
    {
        var folderName = $"..{DateTime.UtcNow:yyyy_MM_dd_HH_mm_ss}.{Interlocked.Increment(ref version)}";
        var folder = System.IO.Path.Combine(Path, folderName);
        Directory.CreateDirectory(folder);
        foreach (var (key, text) in files)
        {
            File.WriteAllText(System.IO.Path.Combine(folder, key), text, new UTF8Encoding(false));
        }

        var temporary = System.IO.Path.Combine(Path, "..data_tmp");
        File.Delete(temporary);
        File.CreateSymbolicLink(temporary, folderName);
        Rename(temporary, System.IO.Path.Combine(Path, "..data"));

        foreach (var entry in Directory.EnumerateFileSystemEntries(Path))
        {
            var name = System.IO.Path.GetFileName(entry);
            if (!name.StartsWith('.') && !files.ContainsKey(name))
            {
                File.Delete(entry);
            }
        }

        foreach (var key in files.Keys)
        {
            var link = System.IO.Path.Combine(Path, key);
            if (new FileInfo(link).LinkTarget is null)
            {
                File.CreateSymbolicLink(link, $"..data/{key}");
            }
        }

        if (DataFolder is { } old)
        {
            Directory.Delete(System.IO.Path.Combine(Path, old), recursive: true);
        }

        DataFolder = folderName;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }

    private static void Rename(string from, string to)
    {
        if (NativeMethods.rename(from, to) != 0)
        {
            throw new IOException($"rename {from} -> {to} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    private static class NativeMethods
    {
#pragma warning disable SYSLIB1054 // LibraryImport would need AllowUnsafeBlocks in the test project.
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static extern int rename([MarshalAs(UnmanagedType.LPUTF8Str)] string oldpath, [MarshalAs(UnmanagedType.LPUTF8Str)] string newpath);
#pragma warning restore SYSLIB1054
    }
}

/// <summary>
/// Configurations whose two files are tied by a version number <c>n</c>: the registry document's
/// account is <c>1000000000nn</c> and the policy file <c>Marker.json</c> allows exactly
/// <c>topic/v{n}</c> in that account. A snapshot mixing two versions breaks <see cref="VersionOf"/>.
/// </summary>
internal static class Versioned
{
    public const string RegistryKey = "registry.yaml";
    public const string PolicyKey = "Marker.json";

    public static string Account(int n) => (100_000_000_000L + n).ToString("D12", System.Globalization.CultureInfo.InvariantCulture);

    public static string Registry(int n) => $"account: \"{Account(n)}\"\nregion: us-east-1\n";

    public static string Policy(int n) =>
        $$"""{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:{{Account(n)}}:topic/v{{n}}"}]}""";

    public static Dictionary<string, string> Files(int n) => new(StringComparer.Ordinal)
    {
        [RegistryKey] = Registry(n),
        [PolicyKey] = Policy(n),
    };

    /// <summary>The version a snapshot holds; throws when its two files disagree.</summary>
    public static int VersionOf(RegistrySnapshot snapshot)
    {
        var n = (int)(long.Parse(snapshot.AccountId, System.Globalization.CultureInfo.InvariantCulture) - 100_000_000_000L);
        var resource = snapshot.Policies["Marker"].Document.Statements.Single().Resources.Single();
        var expected = $"arn:aws:iot:us-east-1:{snapshot.AccountId}:topic/v{n}";
        return resource == expected
            ? n
            : throw new InvalidOperationException($"mixed snapshot (generation {snapshot.Generation}): account {snapshot.AccountId} but Marker allows {resource}");
    }
}

/// <summary>
/// The reload tests run one after another: the stress test's spinning readers would otherwise starve
/// the latency measurements of CPU.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ReloadTestsRunAlone
{
    public const string Name = "Registry reload";
}

internal static class Waiting
{
    /// <summary>Waits until <paramref name="condition"/> holds, checking every few milliseconds; fails after <paramref name="timeout"/>.</summary>
    public static async Task<TimeSpan> Until(Func<bool> condition, TimeSpan timeout, Func<string> what)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < timeout, $"timed out after {timeout.TotalSeconds} s waiting for {what()}");
            await Task.Delay(5);
        }

        return watch.Elapsed;
    }

    public static Task<TimeSpan> Until(Func<bool> condition, TimeSpan timeout, string what) => Until(condition, timeout, () => what);
}

/// <summary>Records log entries and echoes them to the test output (never throwing, even after the test ended).</summary>
internal sealed class TestLogger(ITestOutputHelper? output = null) : ILogger
{
    public ConcurrentQueue<(LogLevel Level, EventId Id, string Message)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var message = formatter(state, exception);
        Entries.Enqueue((logLevel, eventId, message));
        try
        {
            output?.WriteLine($"[{DateTime.UtcNow:HH:mm:ss.fff} {logLevel}] {message}");
        }
        catch (InvalidOperationException)
        {
            // The test is over; the entry is still recorded.
        }
    }
}
