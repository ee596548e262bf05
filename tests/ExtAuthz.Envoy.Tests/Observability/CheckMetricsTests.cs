using System.Globalization;
using System.Text;
using ExtAuthz.Envoy.Observability;
using ExtAuthz.Identity;
using ExtAuthz.Identity.Decisions;
using ExtAuthz.Identity.Tests.Support;
using ExtAuthz.Identity.X509;
using ExtAuthz.Registry;

namespace ExtAuthz.Envoy.Tests.Observability;

public sealed class CheckMetricsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static DecisionRecord Check(string decision = "ALLOWED", string listener = "mqtt", string? action = "iot:Connect", double latencyMicroseconds = 3) => new()
    {
        Time = DateTimeOffset.UnixEpoch,
        DecisionId = "d",
        Listener = listener,
        Operation = "Connection",
        Decision = decision,
        Action = action,
        LatencyMicroseconds = latencyMicroseconds,
    };

    private static async Task<string> Scrape(CheckMetrics metrics)
    {
        using var output = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(output);
        return Encoding.UTF8.GetString(output.ToArray());
    }

    /// <summary>The value of the sample named exactly <paramref name="series"/> (name and labels), or null when absent.</summary>
    private static double? Sample(string text, string series)
    {
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return double.Parse(line.AsSpan(series.Length + 1), CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    [Fact]
    public async Task Checks_are_counted_by_decision_listener_and_action()
    {
        var metrics = new CheckMetrics();
        metrics.Record(Check());
        metrics.Record(Check());
        metrics.Record(Check("EXPLICIT_DENY", "https", "iot:Publish"));
        metrics.Record(Check("UNAUTHENTICATED", "mtls", action: null));

        var text = await Scrape(metrics);

        Assert.Equal(2, Sample(text, """extauthz_checks_total{decision="ALLOWED",listener="mqtt",action="iot:Connect"}"""));
        Assert.Equal(1, Sample(text, """extauthz_checks_total{decision="EXPLICIT_DENY",listener="https",action="iot:Publish"}"""));
        Assert.Equal(1, Sample(text, """extauthz_checks_total{decision="UNAUTHENTICATED",listener="mtls",action="none"}"""));
        Assert.Contains("# TYPE extauthz_checks_total counter", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_labels_in_other_string_instances_and_in_turn_count_into_the_same_series()
    {
        var metrics = new CheckMetrics();
        metrics.Record(Check());
        metrics.Record(Check(new string("ALLOWED".AsSpan()), new string("mqtt".AsSpan()), new string("iot:Connect".AsSpan())));
        metrics.Record(Check("EXPLICIT_DENY", "https", "iot:Publish"));
        metrics.Record(Check());
        metrics.Record(Check(action: null));
        metrics.Record(Check(action: "none"));
        metrics.Record(Check(action: null));

        var text = await Scrape(metrics);

        Assert.Equal(3, Sample(text, """extauthz_checks_total{decision="ALLOWED",listener="mqtt",action="iot:Connect"}"""));
        Assert.Equal(1, Sample(text, """extauthz_checks_total{decision="EXPLICIT_DENY",listener="https",action="iot:Publish"}"""));
        Assert.Equal(2, Sample(text, """extauthz_checks_total{decision="ALLOWED",listener="mqtt",action="none"}"""));
        Assert.Equal(1, Sample(text, """extauthz_checks_total{decision="ALLOWED",listener="mqtt",action="other"}"""));
        Assert.Equal(7, Sample(text, """extauthz_check_duration_seconds_count{listener="mqtt"}""") + Sample(text, """extauthz_check_duration_seconds_count{listener="https"}"""));
    }

    [Fact]
    public async Task Latency_is_a_histogram_in_seconds_by_listener()
    {
        var metrics = new CheckMetrics();
        metrics.Record(Check(latencyMicroseconds: 3));
        metrics.Record(Check(latencyMicroseconds: 700));
        metrics.Record(Check(latencyMicroseconds: 250_000));
        metrics.Record(Check(latencyMicroseconds: double.NaN));

        var text = await Scrape(metrics);

        Assert.Contains("# TYPE extauthz_check_duration_seconds histogram", text, StringComparison.Ordinal);
        Assert.Equal(3, Sample(text, """extauthz_check_duration_seconds_count{listener="mqtt"}"""));
        Assert.Equal(0.250703, Sample(text, """extauthz_check_duration_seconds_sum{listener="mqtt"}""")!.Value, 9);
        Assert.Equal(0, Sample(text, """extauthz_check_duration_seconds_bucket{listener="mqtt",le="1e-06"}"""));
        Assert.Equal(1, Sample(text, """extauthz_check_duration_seconds_bucket{listener="mqtt",le="5e-06"}"""));
        Assert.Equal(2, Sample(text, """extauthz_check_duration_seconds_bucket{listener="mqtt",le="0.001"}"""));
        Assert.Equal(2, Sample(text, """extauthz_check_duration_seconds_bucket{listener="mqtt",le="0.1"}"""));
        Assert.Equal(3, Sample(text, """extauthz_check_duration_seconds_bucket{listener="mqtt",le="+Inf"}"""));
    }

    [Fact]
    public void Recording_a_check_already_seen_allocates_nothing()
    {
        var metrics = new CheckMetrics();
        var records = new[] { Check(), Check("EXPLICIT_DENY", "https", "iot:Publish"), Check(action: null), Check(action: "s3:GetObject") };

        // The first round sees each combination first (and the runtime's one-time work); the second is the steady state.
        long allocated = 0;
        for (var round = 0; round < 2; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 1_000; i++)
            {
                metrics.Record(records[i % records.Length]);
            }

            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.Equal(0, allocated);
    }

    [Theory]
    [InlineData("iot:Publish", "iot:Publish")]
    [InlineData("iot:GetRetainedMessage", "iot:GetRetainedMessage")]
    [InlineData("s3:GetObject", "other")]
    [InlineData("iot:", "other")]
    [InlineData("iot:Pub lish", "other")]
    [InlineData("iot:Publish\"}", "other")]
    [InlineData("IOT:Publish", "other")]
    public async Task Unexpected_actions_are_counted_as_other(string action, string label)
    {
        var metrics = new CheckMetrics();
        metrics.Record(Check(action: action));

        var text = await Scrape(metrics);

        Assert.Equal(1, Sample(text, $$"""extauthz_checks_total{decision="ALLOWED",listener="mqtt",action="{{label}}"}"""));
    }

    [Fact]
    public async Task A_long_action_is_other()
    {
        var metrics = new CheckMetrics();
        metrics.Record(Check(action: "iot:" + new string('A', 60)));
        metrics.Record(Check(action: "iot:" + new string('A', 61)));

        var text = await Scrape(metrics);

        Assert.Equal(1, Sample(text, $$"""extauthz_checks_total{decision="ALLOWED",listener="mqtt",action="iot:{{new string('A', 60)}}"}"""));
        Assert.Equal(1, Sample(text, """extauthz_checks_total{decision="ALLOWED",listener="mqtt",action="other"}"""));
    }

    [Fact]
    public async Task Unexpected_decisions_and_listeners_are_other_too()
    {
        var metrics = new CheckMetrics();
        metrics.Record(Check(decision: "allowed", listener: "MQTT over \"ws\""));

        var text = await Scrape(metrics);

        Assert.Equal(1, Sample(text, """extauthz_checks_total{decision="other",listener="other",action="iot:Connect"}"""));
    }

    [Fact]
    public void Label_values_stop_being_admitted_at_the_limit()
    {
        var labels = new LabelValues(3, LabelValues.IsIotAction);

        Assert.Equal(["iot:A", "iot:B", "iot:C", "other", "iot:A", "other"],
            new[] { "iot:A", "iot:B", "iot:C", "iot:D", "iot:A", "iot:E" }.Select(labels.Label));
    }

    [Fact]
    public async Task Every_metric_is_present_before_anything_happens_and_registries_are_not_shared()
    {
        var busy = new CheckMetrics();
        busy.Record(Check());
        var idle = new CheckMetrics();

        var text = await Scrape(idle);

        Assert.Null(Sample(text, """extauthz_checks_total{decision="ALLOWED",listener="mqtt",action="iot:Connect"}"""));
        foreach (var name in new[]
                 {
                     "extauthz_decision_log_written_total", "extauthz_decision_log_dropped_total", "extauthz_decision_log_write_errors_total",
                     "extauthz_registry_generation", "extauthz_registry_reload_attempts_total", "extauthz_registry_reloads_total",
                     "extauthz_registry_reload_refusals_total", "extauthz_registry_refusing", "extauthz_certificate_cache_hits_total",
                     "extauthz_certificate_cache_misses_total", "extauthz_certificate_cache_parses_total", "extauthz_certificate_cache_entries",
                     "extauthz_certificate_cache_capacity",
                 })
        {
            Assert.Equal(0, Sample(text, name));
        }
    }

    [Fact]
    public async Task The_decision_log_counts_are_read_at_scrape_time()
    {
        using var sink = new GatedStream();
        var log = new DecisionLog(sink, new DecisionLogOptions { Capacity = 2, DrainTimeout = Patience }, leaveOpen: true);
        var metrics = new CheckMetrics(log);
        log.TryRecord(Check());
        await sink.Entered.WaitAsync(Patience);
        for (var i = 0; i < 5; i++)
        {
            log.TryRecord(Check());
        }

        var during = await Scrape(metrics);
        sink.Release();
        await log.DisposeAsync();
        var after = await Scrape(metrics);

        Assert.Equal(0, Sample(during, "extauthz_decision_log_written_total"));
        Assert.Equal(3, Sample(during, "extauthz_decision_log_dropped_total"));
        Assert.Equal(3, Sample(after, "extauthz_decision_log_written_total"));
        Assert.Equal(3, Sample(after, "extauthz_decision_log_dropped_total"));
        Assert.Equal(0, Sample(after, "extauthz_decision_log_write_errors_total"));
    }

    [Fact]
    public async Task The_registry_status_is_read_at_scrape_time()
    {
        RegistrySourceStatus? status = null;
        var metrics = new CheckMetrics(status: () => status);

        var before = await Scrape(metrics);
        status = new RegistrySourceStatus { Generation = 3, AttemptCount = 5, ReloadCount = 3, RefusedCount = 2, Refusing = true };
        var refusing = await Scrape(metrics);
        status = status with { Generation = 4, AttemptCount = 6, ReloadCount = 4, Refusing = false };
        var recovered = await Scrape(metrics);

        Assert.Equal(0, Sample(before, "extauthz_registry_generation"));
        Assert.Equal(3, Sample(refusing, "extauthz_registry_generation"));
        Assert.Equal(5, Sample(refusing, "extauthz_registry_reload_attempts_total"));
        Assert.Equal(3, Sample(refusing, "extauthz_registry_reloads_total"));
        Assert.Equal(2, Sample(refusing, "extauthz_registry_reload_refusals_total"));
        Assert.Equal(1, Sample(refusing, "extauthz_registry_refusing"));
        Assert.Equal(4, Sample(recovered, "extauthz_registry_generation"));
        Assert.Equal(6, Sample(recovered, "extauthz_registry_reload_attempts_total"));
        Assert.Equal(4, Sample(recovered, "extauthz_registry_reloads_total"));
        Assert.Equal(2, Sample(recovered, "extauthz_registry_reload_refusals_total"));
        Assert.Equal(0, Sample(recovered, "extauthz_registry_refusing"));
    }

    [Fact]
    public async Task Certificate_cache_figures_are_read_at_scrape_time_and_keep_counting_across_reloads()
    {
        using var fleet = new OneDeviceFleet();
        var first = fleet.Load(1);
        RegistrySnapshot? current = null;
        var metrics = new CheckMetrics(snapshot: () => current);

        var empty = await Scrape(metrics);
        current = first;
        fleet.Connect(first);
        fleet.Connect(first);
        var one = await Scrape(metrics);

        // Activity on the first snapshot after the last scrape, then a reload before the next one.
        fleet.Connect(first);
        var second = fleet.Load(2);
        current = second;
        fleet.Connect(second);
        var two = await Scrape(metrics);

        Assert.Equal(0, Sample(empty, "extauthz_certificate_cache_entries"));
        Assert.Equal(0, Sample(empty, "extauthz_certificate_cache_capacity"));
        Assert.Equal(1, Sample(one, "extauthz_certificate_cache_hits_total"));
        Assert.Equal(1, Sample(one, "extauthz_certificate_cache_misses_total"));
        Assert.Equal(0, Sample(one, "extauthz_certificate_cache_parses_total"));
        Assert.Equal(1, Sample(one, "extauthz_certificate_cache_entries"));
        Assert.Equal(X509CertificateIdentity.MinimumCacheCapacity, Sample(one, "extauthz_certificate_cache_capacity"));
        Assert.Equal(2, Sample(two, "extauthz_certificate_cache_hits_total"));
        Assert.Equal(2, Sample(two, "extauthz_certificate_cache_misses_total"));
        Assert.Equal(1, Sample(two, "extauthz_certificate_cache_entries"));
        Assert.Equal(new CertificateCacheStatistics(1, X509CertificateIdentity.MinimumCacheCapacity, 0, 1, 0), X509CertificateIdentity.CacheStatistics(second));
    }

    /// <summary>A registry directory with one registered, active device certificate.</summary>
    private sealed class OneDeviceFleet : IDisposable
    {
        private static readonly ConnectionFacts Facts = new() { ClientId = "sensor-1" };

        private readonly string directory = Directory.CreateTempSubdirectory("extauthz-metrics-").FullName;
        private readonly string encoded;

        public OneDeviceFleet()
        {
            using var device = Pki.Device("CN=sensor-1");
            encoded = EnvoyCertificate.Encode(device);
            File.WriteAllText(Path.Combine(directory, "Everything.json"),
                """{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}""");
            File.WriteAllText(Path.Combine(directory, "device.pem"), Pki.Pem(device));
            File.WriteAllText(Path.Combine(directory, "registry.yaml"),
                "account: \"123456789012\"\nregion: us-east-1\ncertificates:\n  - pemFile: device.pem\n    status: ACTIVE\n    policies: [Everything]\n");
        }

        public RegistrySnapshot Load(long generation) => RegistryLoader.Load([directory], generation);

        public void Connect(RegistrySnapshot snapshot)
        {
            var result = X509CertificateIdentity.FromEnvoyCertificate(snapshot, encoded, Facts);
            Assert.True(result.Succeeded, result.FailureReason);
        }

        public void Dispose() => Directory.Delete(directory, recursive: true);
    }
}
