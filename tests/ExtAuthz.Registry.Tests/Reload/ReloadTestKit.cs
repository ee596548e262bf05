using System.Collections.Concurrent;
using System.Diagnostics;
using ExtAuthz.Registry.Tests.Support;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace ExtAuthz.Registry.Tests.Reload;

/// <summary>
/// A ConfigMap volume (see <see cref="KubernetesVolume"/>) in its own temp folder, with room beside it
/// for the plain directories some tests need.
/// </summary>
internal sealed class ConfigMapVolume : IDisposable
{
    private readonly KubernetesVolume volume;

    public ConfigMapVolume()
    {
        Root = Directory.CreateTempSubdirectory("extauthz-reload-").FullName;
        volume = new KubernetesVolume(System.IO.Path.Combine(Root, "config"));
    }

    /// <summary>A temp folder holding the volume and anything else a test needs.</summary>
    public string Root { get; }

    /// <summary>The mount point: what the service is given.</summary>
    public string Path => volume.Path;

    /// <summary>The path the loader reports for a key (the key's link in the mount).</summary>
    public string this[string key] => System.IO.Path.Combine(Path, key);

    public void Publish(IReadOnlyDictionary<string, string> files) => volume.Publish(files);

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
