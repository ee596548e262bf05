using System.Text.Json;
using ExtAuthz.Envoy.Observability;
using ExtAuthz.Identity.Decisions;
using Microsoft.Extensions.Logging;

namespace ExtAuthz.Envoy.Tests.Observability;

public sealed class DecisionLogTests
{
    /// <summary>Bounds every wait on the writer so that a bug fails the test instead of hanging it; never an assertion about speed.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static DecisionRecord Minimal(int n = 0) => new()
    {
        Time = new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.Zero).AddTicks(n),
        DecisionId = $"d-{n}",
        Listener = "mqtt",
        Operation = "Connection",
        Decision = "IMPLICIT_DENY",
    };

    private static DecisionRecord Full(string text) => new()
    {
        Time = new DateTimeOffset(2025, 3, 4, 7, 6, 7, 123, TimeSpan.FromHours(2)).AddTicks(4567),
        DecisionId = "abc-00000001",
        Listener = "https",
        Operation = "Publish",
        Decision = "EXPLICIT_DENY",
        Enforced = false,
        PrincipalKind = "Certificate",
        Principal = "p" + text,
        CertificateId = "c" + text,
        Thing = "t" + text,
        Action = "iot:Publish",
        Resource = "arn:aws:iot:us-east-1:123456789012:topic/" + text,
        Policy = "pol" + text,
        Statement = "#2",
        Reason = "r" + text,
        ShadowDecision = "ALLOWED",
        ShadowPolicy = "sp" + text,
        ShadowStatement = "ss" + text,
        Generation = 42,
        LatencyMicroseconds = 12.3456789,
    };

    private static async Task<(string Text, DecisionLog Log)> WriteAll(IEnumerable<DecisionRecord> records, DecisionLogOptions? options = null)
    {
        using var sink = new RecordingStream();
        var log = new DecisionLog(sink, options, leaveOpen: true);
        foreach (var record in records)
        {
            Assert.True(log.TryRecord(record));
        }

        await log.DisposeAsync();
        return (sink.Text, log);
    }

    private static string[] Lines(string text)
    {
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        return text[..^1].Split('\n');
    }

    [Fact]
    public async Task Every_field_is_written_once_as_camel_case_json_on_one_line()
    {
        const string Awkward = "a\"b\\c\nd\re\t\u0001\u001f\u007f\u2028\u2029é中😀<>&'";
        var (text, _) = await WriteAll([Full(Awkward)]);

        var line = Assert.Single(Lines(text));
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        Assert.Equal(
            [
                "time", "decisionId", "decision", "enforced", "listener", "operation", "principalKind", "principal", "certificateId", "thing",
                "action", "resource", "policy", "statement", "reason", "shadowDecision", "shadowPolicy", "shadowStatement", "generation", "latencyUs",
            ],
            root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("2025-03-04T05:06:07.1234567Z", root.GetProperty("time").GetString());
        Assert.Equal("abc-00000001", root.GetProperty("decisionId").GetString());
        Assert.Equal("EXPLICIT_DENY", root.GetProperty("decision").GetString());
        Assert.False(root.GetProperty("enforced").GetBoolean());
        Assert.Equal("https", root.GetProperty("listener").GetString());
        Assert.Equal("Publish", root.GetProperty("operation").GetString());
        Assert.Equal("Certificate", root.GetProperty("principalKind").GetString());
        Assert.Equal("p" + Awkward, root.GetProperty("principal").GetString());
        Assert.Equal("c" + Awkward, root.GetProperty("certificateId").GetString());
        Assert.Equal("t" + Awkward, root.GetProperty("thing").GetString());
        Assert.Equal("iot:Publish", root.GetProperty("action").GetString());
        Assert.Equal("arn:aws:iot:us-east-1:123456789012:topic/" + Awkward, root.GetProperty("resource").GetString());
        Assert.Equal("pol" + Awkward, root.GetProperty("policy").GetString());
        Assert.Equal("#2", root.GetProperty("statement").GetString());
        Assert.Equal("r" + Awkward, root.GetProperty("reason").GetString());
        Assert.Equal("ALLOWED", root.GetProperty("shadowDecision").GetString());
        Assert.Equal("sp" + Awkward, root.GetProperty("shadowPolicy").GetString());
        Assert.Equal("ss" + Awkward, root.GetProperty("shadowStatement").GetString());
        Assert.Equal(42, root.GetProperty("generation").GetInt64());
        Assert.Equal(12.346, root.GetProperty("latencyUs").GetDouble());

        // Line readers that split on U+2028/U+2029 (JavaScript) must see one line too.
        Assert.DoesNotContain('\u2028', line);
        Assert.DoesNotContain('\u2029', line);
        Assert.Contains("é中", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Null_fields_are_omitted()
    {
        var (text, _) = await WriteAll([Minimal() with { LatencyMicroseconds = 7 }]);

        using var document = JsonDocument.Parse(Assert.Single(Lines(text)));
        Assert.Equal(
            ["time", "decisionId", "decision", "enforced", "listener", "operation", "generation", "latencyUs"],
            document.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.True(document.RootElement.GetProperty("enforced").GetBoolean());
        Assert.Equal(0, document.RootElement.GetProperty("generation").GetInt64());
        Assert.Equal("2025-03-04T05:06:07.0000000Z", document.RootElement.GetProperty("time").GetString());
    }

    [Fact]
    public async Task A_lone_surrogate_becomes_a_replacement_character_and_a_non_finite_latency_is_left_out()
    {
        var (text, _) = await WriteAll([Minimal() with { Principal = "x\uD800y", LatencyMicroseconds = double.NaN }]);

        using var document = JsonDocument.Parse(Assert.Single(Lines(text)));
        Assert.Equal("x\uFFFDy", document.RootElement.GetProperty("principal").GetString());
        Assert.False(document.RootElement.TryGetProperty("latencyUs", out _));
    }

    [Fact]
    public async Task Many_records_become_as_many_lines_in_order()
    {
        const int Count = 5_000;
        var (text, log) = await WriteAll(Enumerable.Range(0, Count).Select(n => Minimal(n) with { Reason = new string('x', n % 300) }),
            new DecisionLogOptions { FlushBytes = 4096 });

        var lines = Lines(text);
        Assert.Equal(Count, lines.Length);
        for (var i = 0; i < Count; i++)
        {
            using var document = JsonDocument.Parse(lines[i]);
            Assert.Equal($"d-{i}", document.RootElement.GetProperty("decisionId").GetString());
        }

        Assert.Equal(Count, log.Written);
        Assert.Equal(0, log.Dropped);
        Assert.Equal(0, log.WriteErrors);
    }

    [Fact]
    public void Synchronous_dispose_drains_too()
    {
        using var sink = new RecordingStream();
        var log = new DecisionLog(sink, leaveOpen: true);
        for (var n = 0; n < 100; n++)
        {
            Assert.True(log.TryRecord(Minimal(n)));
        }

        log.Dispose();

        Assert.Equal(100, log.Written);
        Assert.Equal(100, Lines(sink.Text).Length);
    }

    [Fact]
    public async Task A_full_queue_drops_and_counts_without_blocking_and_dispose_drains_the_rest()
    {
        const int Capacity = 8;
        using var sink = new GatedStream();
        var log = new DecisionLog(sink, new DecisionLogOptions { Capacity = Capacity, DrainTimeout = Patience }, leaveOpen: true);

        // The writer takes the first record and blocks in the sink with it; nothing else leaves the queue.
        Assert.True(log.TryRecord(Minimal(0)));
        await sink.Entered.WaitAsync(Patience);

        var accepted = await Task.Run(() => Enumerable.Range(1, Capacity + 5).Select(n => log.TryRecord(Minimal(n))).ToArray()).WaitAsync(Patience);

        bool[] expected = [.. Enumerable.Repeat(true, Capacity), .. Enumerable.Repeat(false, 5)];
        Assert.Equal(expected, accepted);
        Assert.Equal(5, log.Dropped);
        Assert.Equal(0, log.Written);

        sink.Release();
        await log.DisposeAsync();

        Assert.Equal(1 + Capacity, log.Written);
        Assert.Equal(5, log.Dropped);
        Assert.Equal(Enumerable.Range(0, 1 + Capacity).Select(n => $"d-{n}"),
            Lines(sink.Text).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("decisionId").GetString()));
    }

    [Fact]
    public async Task Dispose_gives_up_on_a_stuck_sink_after_the_drain_timeout_and_counts_the_queue_as_dropped()
    {
        using var sink = new GatedStream();
        var logger = new CollectingLogger();
        var log = new DecisionLog(sink, new DecisionLogOptions { DrainTimeout = TimeSpan.FromMilliseconds(50) }, logger, leaveOpen: true);
        Assert.True(log.TryRecord(Minimal(0)));
        await sink.Entered.WaitAsync(Patience);
        for (var n = 1; n <= 10; n++)
        {
            Assert.True(log.TryRecord(Minimal(n)));
        }

        await log.DisposeAsync().AsTask().WaitAsync(Patience);

        Assert.Equal(10, log.Dropped);
        Assert.False(log.TryRecord(Minimal(11)));
        Assert.Equal(11, log.Dropped);
        var entry = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Contains("10 queued decisions dropped", entry.Message, StringComparison.Ordinal);
        sink.Release();
    }

    [Fact]
    public async Task A_throwing_sink_is_survived_counted_and_logged_once()
    {
        using var sink = new FailingStream(int.MaxValue);
        var logger = new CollectingLogger();
        var log = new DecisionLog(sink, new DecisionLogOptions { RetryInterval = TimeSpan.FromHours(1) }, logger, leaveOpen: true);

        Assert.True(log.TryRecord(Minimal(0)));
        await sink.Failed.WaitAsync(Patience);
        for (var n = 1; n <= 20; n++)
        {
            log.TryRecord(Minimal(n));
        }

        await log.DisposeAsync();

        Assert.Equal(0, log.Written);
        Assert.Equal(21, log.Dropped);
        Assert.Equal(1, log.WriteErrors);
        Assert.Equal(1, sink.Writes);
        var entry = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Equal(4001, entry.Id.Id);
    }

    [Fact]
    public async Task After_a_failure_the_sink_is_retried_and_the_next_line_starts_on_a_line_of_its_own()
    {
        using var sink = new FailingStream(1);
        var logger = new CollectingLogger();
        var log = new DecisionLog(sink, new DecisionLogOptions { RetryInterval = TimeSpan.Zero }, logger, leaveOpen: true);

        Assert.True(log.TryRecord(Minimal(0)));
        await sink.Failed.WaitAsync(Patience);
        Assert.True(log.TryRecord(Minimal(1)));
        await log.DisposeAsync();

        Assert.Equal(1, log.Written);
        Assert.Equal(1, log.Dropped);
        Assert.Equal(1, log.WriteErrors);
        Assert.StartsWith("\n{", sink.Text, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(Lines(sink.Text)[1]);
        Assert.Equal("d-1", document.RootElement.GetProperty("decisionId").GetString());
        Assert.Equal([LogLevel.Error, LogLevel.Information], logger.Entries.Select(e => e.Level));
        Assert.Contains("after 1 failed writes; 1 decisions were dropped", logger.Entries[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_destination_is_appended_to()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("extauthz-decisions-").FullName, "decisions.log");
        try
        {
            await File.WriteAllTextAsync(path, "earlier\n");
            var log = DecisionLog.Open(path);
            Assert.True(log.Enabled);
            Assert.True(log.TryRecord(Minimal(1)));
            await log.DisposeAsync();

            var lines = await File.ReadAllLinesAsync(path);
            Assert.Equal(2, lines.Length);
            Assert.Equal("earlier", lines[0]);
            using var document = JsonDocument.Parse(lines[1]);
            Assert.Equal("d-1", document.RootElement.GetProperty("decisionId").GetString());
            Assert.Equal(1, log.Written);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    [Theory]
    [InlineData("none")]
    [InlineData("")]
    public async Task No_destination_discards_without_counting(string destination)
    {
        var log = DecisionLog.Open(destination);

        Assert.False(log.Enabled);
        Assert.False(log.TryRecord(Minimal()));
        Assert.Equal(0, log.Written);
        Assert.Equal(0, log.Dropped);
        await log.DisposeAsync();
    }

    [Fact]
    public void A_file_that_cannot_be_opened_fails_at_open()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"extauthz-missing-{Guid.NewGuid():N}", "decisions.log");

        Assert.Throws<DirectoryNotFoundException>(() => DecisionLog.Open(missing));
    }

    [Fact]
    public void Options_out_of_range_are_refused()
    {
        using var sink = new RecordingStream();

        Assert.Throws<ArgumentOutOfRangeException>(() => new DecisionLog(sink, new DecisionLogOptions { Capacity = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DecisionLog(sink, new DecisionLogOptions { RetryInterval = TimeSpan.FromSeconds(-1) }));
    }
}
