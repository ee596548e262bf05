using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace ExtAuthz.Registry.Tests.Reload;

/// <summary>
/// Hot reload from a Kubernetes-style ConfigMap volume (and plain directories): the first load, updates
/// picked up by watching and by the periodic check, refused updates that leave the last good snapshot
/// serving, coalescing, subscribers, and disposal.
/// </summary>
[Collection(ReloadTestsRunAlone.Name)]
public sealed class RegistrySourceTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(5);

    /// <summary>Short delays so the tests are quick; the latency tests use the defaults.</summary>
    private static readonly RegistrySourceOptions Fast = new()
    {
        Debounce = TimeSpan.FromMilliseconds(50),
        MaxDebounce = TimeSpan.FromMilliseconds(500),
        PollInterval = TimeSpan.FromMilliseconds(200),
        RetryInterval = TimeSpan.FromMilliseconds(500),
    };

    private readonly ConfigMapVolume volume = new();
    private readonly TestLogger logger = new(output);

    public void Dispose() => volume.Dispose();

    private RegistrySource NewSource(RegistrySourceOptions? options = null, params string[] directories) =>
        new(directories.Length > 0 ? directories : [volume.Path], options ?? Fast, logger);

    [Fact]
    public async Task First_load_reads_the_kubernetes_layout_and_makes_generation_1()
    {
        volume.Publish(Versioned.Files(1));
        await using var source = NewSource();
        Assert.Null(source.Current);
        Assert.False(source.Status.Ready);

        source.Start();

        var snapshot = Assert.IsType<RegistrySnapshot>(source.Current);
        Assert.True(source.IsReady);
        Assert.Equal(1, snapshot.Generation);
        Assert.Equal(1, Versioned.VersionOf(snapshot));
        Assert.Equal([volume[Versioned.PolicyKey], volume[Versioned.RegistryKey]], snapshot.Files.Order(StringComparer.Ordinal));

        var status = source.Status;
        Assert.True(status.Ready);
        Assert.Equal(1, status.Generation);
        Assert.Equal(snapshot.LoadedAt, status.LoadedAt);
        Assert.Equal(snapshot.Fingerprint, status.Fingerprint);
        Assert.Equal(2, status.FileCount);
        Assert.Equal(1, status.ReloadCount);
        Assert.Equal(0, status.RefusedCount);
        Assert.False(status.Refusing);
        Assert.Null(status.LastError);
        Assert.NotNull(status.LastAttemptAt);
        Assert.Equal([volume.Path], status.Directories);
    }

    [Fact]
    public async Task A_valid_update_is_in_effect_within_the_bound_with_default_options()
    {
        volume.Publish(Versioned.Files(1));
        await using var source = new RegistrySource([volume.Path], logger: logger);
        source.Start();

        var latencies = new List<TimeSpan>();
        for (var n = 2; n <= 6; n++)
        {
            var generation = source.Current!.Generation;
            volume.Publish(Versioned.Files(n));
            var latency = await Waiting.Until(() => source.Current!.Generation > generation, Generous, $"version {n}");
            var snapshot = source.Current!;
            Assert.Equal(generation + 1, snapshot.Generation);
            Assert.Equal(n, Versioned.VersionOf(snapshot));
            latencies.Add(latency);
        }

        output.WriteLine($"watch + poll (defaults: debounce 200 ms, poll 1 s): publish -> new snapshot in effect: {string.Join(", ", latencies.Select(l => $"{l.TotalMilliseconds:F0} ms"))}");
    }

    [Fact]
    public async Task The_periodic_check_alone_picks_up_updates()
    {
        volume.Publish(Versioned.Files(1));
        await using var source = new RegistrySource([volume.Path], new RegistrySourceOptions { WatchFileSystem = false }, logger);
        source.Start();

        var latencies = new List<TimeSpan>();
        for (var n = 2; n <= 4; n++)
        {
            volume.Publish(Versioned.Files(n));
            latencies.Add(await Waiting.Until(() => Versioned.VersionOf(source.Current!) == n, Generous, $"version {n}"));
            Assert.Equal(n, source.Current!.Generation);
        }

        output.WriteLine($"poll only (1 s): publish -> new snapshot in effect: {string.Join(", ", latencies.Select(l => $"{l.TotalMilliseconds:F0} ms"))}");
    }

    public static TheoryData<string, string, string, int, string> BrokenUpdates => new()
    {
        // A YAML syntax error: the flow sequence is never closed.
        { "bad YAML", Versioned.RegistryKey, "account: \"100000000001\"\nregion: us-east-1\nthings: [\n  - name: a\n", 4, "did not find expected" },
        // Strict JSON: a trailing comma on line 2.
        { "bad policy JSON", Versioned.PolicyKey, "{\"Version\": \"2012-10-17\",\n \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"iot:Publish\", \"Resource\": \"*\",}]}", 2, "" },
        // A reference to a policy file that is not there.
        { "dangling reference", Versioned.RegistryKey, "account: \"100000000001\"\nregion: us-east-1\npolicies:\n  - name: Extra\n    file: missing.json\n", 5, "names no file" },
    };

    [Theory]
    [MemberData(nameof(BrokenUpdates))]
    public async Task A_broken_update_is_refused_the_old_snapshot_keeps_answering_and_a_good_one_recovers(string what, string key, string text, int line, string reason)
    {
        volume.Publish(Versioned.Files(1));
        await using var source = NewSource();
        source.Start();
        var good = source.Current!;

        var broken = Versioned.Files(1);
        broken[key] = text;
        volume.Publish(broken);
        await Waiting.Until(() => source.Status.Refusing, Generous, $"the {what} update to be refused");

        var status = source.Status;
        output.WriteLine($"{what}: {status.LastError}");
        Assert.Equal(1, status.RefusedCount);
        Assert.Equal(1, status.Generation);
        Assert.NotNull(status.LastErrorAt);
        var error = status.LastErrors.FirstOrDefault(e => e.File == volume[key] && e.Line == line && e.Reason.Contains(reason, StringComparison.Ordinal));
        Assert.True(error is not null, $"expected {volume[key]}:{line}: ...{reason}... among:\n{string.Join('\n', status.LastErrors)}");
        Assert.Contains(volume[key], status.LastError, StringComparison.Ordinal);
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Error && e.Message.Contains(volume[key], StringComparison.Ordinal));

        // The old snapshot keeps answering, untouched.
        Assert.Same(good, source.Current);
        Assert.Equal(1, Versioned.VersionOf(source.Current!));
        var retry = await source.ReloadNowAsync();
        Assert.Equal(ReloadOutcome.Refused, retry.Outcome);
        Assert.Same(good, retry.Snapshot);
        Assert.NotNull(retry.Error);
        Assert.Same(good, source.Current);

        volume.Publish(Versioned.Files(2));
        var recovered = await source.WaitForGenerationAsync(2).WaitAsync(Generous);
        Assert.Equal(2, Versioned.VersionOf(recovered));
        Assert.False(source.Status.Refusing);
        Assert.Contains(error, source.Status.LastErrors); // the last refusal stays visible
    }

    [Fact]
    public async Task A_burst_of_updates_is_loaded_once()
    {
        volume.Publish(Versioned.Files(1));
        await using var source = NewSource(Fast with { Debounce = TimeSpan.FromMilliseconds(500), MaxDebounce = TimeSpan.FromSeconds(3), PollInterval = TimeSpan.FromSeconds(10) });
        source.Start();

        const int Updates = 20;
        for (var n = 2; n <= Updates + 1; n++)
        {
            volume.Publish(Versioned.Files(n));
        }

        await Waiting.Until(() => Versioned.VersionOf(source.Current!) == Updates + 1, Generous, "the last update");
        var status = source.Status;
        output.WriteLine($"{Updates} updates -> {status.ReloadCount - 1} new generations, {status.AttemptCount - 1} load attempts");
        Assert.InRange(status.ReloadCount - 1, 1, 3);
        Assert.Equal(status.ReloadCount, source.Current!.Generation);
    }

    [Fact]
    public async Task Identical_files_make_no_new_generation()
    {
        volume.Publish(Versioned.Files(1));
        await using var source = NewSource();
        source.Start();
        var first = source.Current!;

        volume.Publish(Versioned.Files(1)); // a new ..data folder with the same content
        var result = await source.ReloadNowAsync();

        Assert.Equal(ReloadOutcome.Unchanged, result.Outcome);
        Assert.Same(first, result.Snapshot);
        Assert.Same(first, source.Current);
        var attempts = source.Status.AttemptCount;
        await Waiting.Until(() => source.Status.AttemptCount > attempts, Generous, "the watcher's own attempt");
        Assert.Same(first, source.Current);
        Assert.Equal(1, source.Status.ReloadCount);
    }

    [Fact]
    public async Task A_plain_directory_edited_in_place_is_reloaded()
    {
        var directory = Directory.CreateDirectory(Path.Combine(volume.Root, "plain")).FullName;
        File.WriteAllText(Path.Combine(directory, Versioned.RegistryKey), Versioned.Registry(1));
        File.WriteAllText(Path.Combine(directory, "Other.json"), Policy("topic/a"));
        await using var source = NewSource(Fast, directory);
        source.Start();
        Assert.Equal(1, source.Current!.Generation);

        // Same size, written right after: must not hide behind an equal size and time.
        foreach (var (topic, generation) in new[] { ("topic/b", 2), ("topic/c", 3) })
        {
            File.WriteAllText(Path.Combine(directory, "Other.json"), Policy(topic));
            var snapshot = await source.WaitForGenerationAsync(generation).WaitAsync(Generous);
            Assert.EndsWith(topic, snapshot.Policies["Other"].Document.Statements[0].Resources.Single(), StringComparison.Ordinal);
        }

        // A new file in a subdirectory.
        Directory.CreateDirectory(Path.Combine(directory, "more"));
        File.WriteAllText(Path.Combine(directory, "more", "Third.json"), Policy("topic/d"));
        var third = await source.WaitForGenerationAsync(4).WaitAsync(Generous);
        Assert.Contains("Third", third.Policies.Keys);
    }

    [Fact]
    public async Task A_plain_directory_edited_in_place_is_reloaded_by_the_periodic_check_alone()
    {
        var directory = Directory.CreateDirectory(Path.Combine(volume.Root, "plain")).FullName;
        File.WriteAllText(Path.Combine(directory, Versioned.RegistryKey), Versioned.Registry(1));
        File.WriteAllText(Path.Combine(directory, "Other.json"), Policy("topic/a"));
        await using var source = NewSource(Fast with { WatchFileSystem = false }, directory);
        source.Start();

        foreach (var (topic, generation) in new[] { ("topic/b", 2), ("topic/c", 3) })
        {
            File.WriteAllText(Path.Combine(directory, "Other.json"), Policy(topic));
            var snapshot = await source.WaitForGenerationAsync(generation).WaitAsync(Generous);
            Assert.EndsWith(topic, snapshot.Policies["Other"].Document.Statements[0].Resources.Single(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_failed_first_load_leaves_it_not_ready_and_is_retried()
    {
        var broken = Versioned.Files(1);
        broken[Versioned.PolicyKey] = "{";
        volume.Publish(broken);
        await using var source = NewSource();
        source.Start();

        Assert.Null(source.Current);
        Assert.False(source.IsReady);
        Assert.False(source.Status.Ready);
        Assert.True(source.Status.Refusing);
        Assert.Contains(source.Status.LastErrors, e => e.File == volume[Versioned.PolicyKey]);
        var waiting = source.WaitForGenerationAsync(1);
        Assert.False(waiting.IsCompleted);

        volume.Publish(Versioned.Files(1));
        var snapshot = await waiting.WaitAsync(Generous);
        Assert.Equal(1, snapshot.Generation);
        Assert.True(source.Status.Ready);
    }

    [Fact]
    public async Task A_directory_that_appears_later_is_loaded()
    {
        var directory = Path.Combine(volume.Root, "later");
        await using var source = NewSource(Fast, directory);
        source.Start();
        Assert.Null(source.Current);
        Assert.Contains("does not exist", source.Status.LastError, StringComparison.Ordinal);

        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, Versioned.RegistryKey), Versioned.Registry(7));
        File.WriteAllText(Path.Combine(directory, Versioned.PolicyKey), Versioned.Policy(7));
        var snapshot = await source.WaitForGenerationAsync(1).WaitAsync(Generous);
        Assert.Equal(7, Versioned.VersionOf(snapshot));
    }

    [Fact]
    public async Task Subscribers_are_told_and_their_exceptions_do_not_break_reloading()
    {
        volume.Publish(Versioned.Files(1));
        await using var source = NewSource();
        var seen = new System.Collections.Concurrent.ConcurrentQueue<(long? Previous, long Current)>();
        source.SnapshotChanged += (_, _) => throw new InvalidOperationException("a broken subscriber");
        source.SnapshotChanged += (_, e) => seen.Enqueue((e.Previous?.Generation, e.Current.Generation));
        source.Start();

        volume.Publish(Versioned.Files(2));
        await source.WaitForGenerationAsync(2).WaitAsync(Generous);
        volume.Publish(Versioned.Files(3));
        var third = await source.WaitForGenerationAsync(3).WaitAsync(Generous);

        Assert.Equal(3, Versioned.VersionOf(third));

        // Waiters are released before the event handlers run; give the handlers their turn.
        int SubscriberErrors() => logger.Entries.Count(e => e.Level == LogLevel.Error && e.Message.Contains("subscriber", StringComparison.Ordinal));
        await Waiting.Until(() => seen.Count == 3 && SubscriberErrors() == 3, Generous, () => $"3 notifications, got {seen.Count} and {SubscriberErrors()} errors");
        Assert.Equal([(null, 1), (1, 2), (2, 3)], seen.ToArray());
    }

    [Fact]
    public async Task ReloadNow_works_before_start_and_waiting_can_be_cancelled()
    {
        volume.Publish(Versioned.Files(1));
        await using var source = NewSource();
        var result = await source.ReloadNowAsync();
        Assert.Equal(ReloadOutcome.Loaded, result.Outcome);
        Assert.Same(result.Snapshot, source.Current);
        Assert.Same(source.Current, await source.WaitForGenerationAsync(1));

        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => source.WaitForGenerationAsync(2, cancel.Token));

        volume.Publish(Versioned.Files(2));
        result = await source.ReloadNowAsync();
        Assert.Equal(ReloadOutcome.Loaded, result.Outcome);
        Assert.Equal(2, result.Snapshot!.Generation);
        Assert.Equal(2, Versioned.VersionOf(result.Snapshot));
    }

    [Fact]
    public async Task Disposal_stops_watching()
    {
        volume.Publish(Versioned.Files(1));
        var source = NewSource();
        source.Start();
        var waiter = source.WaitForGenerationAsync(2);
        await source.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiter.WaitAsync(Generous));
        var attempts = source.Status.AttemptCount;
        volume.Publish(Versioned.Files(2));

        // Several debounce and poll periods pass; nothing may happen.
        await Task.Delay(Fast.PollInterval * 5 + Fast.MaxDebounce);
        Assert.Equal(attempts, source.Status.AttemptCount);
        Assert.Equal(1, source.Current!.Generation);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => source.ReloadNowAsync());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => source.WaitForGenerationAsync(2));
        source.Dispose(); // twice is fine
    }

    private static string Policy(string topic) =>
        $$"""{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:100000000001:{{topic}}"}]}""";
}
