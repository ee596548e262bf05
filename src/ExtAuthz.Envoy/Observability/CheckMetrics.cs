using System.Collections.Concurrent;
using ExtAuthz.Identity;
using ExtAuthz.Identity.Decisions;
using ExtAuthz.Identity.X509;
using ExtAuthz.Registry;
using Prometheus;

namespace ExtAuthz.Envoy.Observability;

/// <summary>
/// The Check service's Prometheus metrics (docs/observability.md lists them), on a registry of their
/// own so that several hosts in one process keep separate counts. <see cref="Record"/> runs on every
/// Check: after the first Check of each label combination it is dictionary lookups and atomic adds,
/// with no allocation. Everything kept elsewhere (the decision log's counts, the registry source's
/// status, the certificate cache's figures) is read when Prometheus scrapes, not on the request path.
/// </summary>
public sealed class CheckMetrics
{
    /// <summary>Distinct actions counted as themselves; more than IoT's data-plane actions, fewer than a runaway.</summary>
    internal const int MaxActions = 64;

    internal const int MaxDecisions = 16;
    internal const int MaxListeners = 16;

    /// <summary>The label of a Check that reached no action (refused before any policy was asked).</summary>
    internal const string NoAction = "none";

    /// <summary>1, 2.5 and 5 per decade from 1 µs to 100 ms: a cached allow takes microseconds, a first certificate parse milliseconds.</summary>
    private static readonly double[] LatencyBuckets =
    [
        0.000_001, 0.000_002_5, 0.000_005,
        0.000_01, 0.000_025, 0.000_05,
        0.000_1, 0.000_25, 0.000_5,
        0.001, 0.002_5, 0.005,
        0.01, 0.025, 0.05,
        0.1,
    ];

    private readonly DecisionLog? decisionLog;
    private readonly Func<RegistrySourceStatus?>? status;
    private readonly Func<RegistrySnapshot?>? snapshot;

    private readonly Counter checks;
    private readonly Histogram latency;
    private readonly ConcurrentDictionary<(string Decision, string Listener, string Action), RecordSeries> series = new();
    private readonly ConcurrentDictionary<string, Histogram.Child> latencyChildren = new(StringComparer.Ordinal);
    private readonly LabelValues decisions = new(MaxDecisions, LabelValues.IsDecision);
    private readonly LabelValues listeners = new(MaxListeners, LabelValues.IsListener);
    private readonly LabelValues actions = new(MaxActions, LabelValues.IsIotAction);
    private RecordSeries? last;

    private readonly Counter logWritten;
    private readonly Counter logDropped;
    private readonly Counter logWriteErrors;

    private readonly Gauge generation;
    private readonly Counter reloadAttempts;
    private readonly Counter reloads;
    private readonly Counter reloadRefusals;
    private readonly Gauge refusing;

    private readonly Counter cacheHits;
    private readonly Counter cacheMisses;
    private readonly Counter cacheParses;
    private readonly Gauge cacheEntries;
    private readonly Gauge cacheCapacity;

    // Scrape-time state for turning per-snapshot cache figures into counters that survive reloads.
    private readonly Lock scrapeLock = new();
    private WeakReference<RegistrySnapshot>? cacheSnapshot;
    private CertificateCacheStatistics cacheCounted;

    /// <param name="decisionLog">Whose written/dropped/error counts to export; none when null.</param>
    /// <param name="status">The registry source's status (<see cref="RegistrySource.Status"/>), read at each scrape; while it is null or returns null the registry metrics keep their last values (0 at first).</param>
    /// <param name="snapshot">The snapshot in effect (<see cref="RegistrySource.Current"/>), read at each scrape for its certificate cache figures.</param>
    public CheckMetrics(DecisionLog? decisionLog = null, Func<RegistrySourceStatus?>? status = null, Func<RegistrySnapshot?>? snapshot = null)
    {
        this.decisionLog = decisionLog;
        this.status = status;
        this.snapshot = snapshot;
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);

        // No exemplars: a Check carries no trace to link to, and looking for one costs every Check.
        factory.ExemplarBehavior = ExemplarBehavior.NoExemplars();

        checks = factory.CreateCounter("extauthz_checks_total",
            "Checks answered, by decision, listener and IAM action decided (none when no action was reached, other when unexpected).",
            "decision", "listener", "action");
        latency = factory.CreateHistogram("extauthz_check_duration_seconds",
            "Time the Check handler took, from receiving the request to building the response.",
            ["listener"], new HistogramConfiguration { Buckets = LatencyBuckets });

        logWritten = factory.CreateCounter("extauthz_decision_log_written_total", "Decision log records written to the sink.");
        logDropped = factory.CreateCounter("extauthz_decision_log_dropped_total",
            "Decision log records dropped: queue full, lost in a failed write, or dropped while the sink was failing.");
        logWriteErrors = factory.CreateCounter("extauthz_decision_log_write_errors_total", "Decision log sink writes that failed.");

        generation = factory.CreateGauge("extauthz_registry_generation", "Generation of the configuration snapshot in effect (0 while none has loaded).");
        reloadAttempts = factory.CreateCounter("extauthz_registry_reload_attempts_total", "Configuration load attempts that ran to the end, the first load included.");
        reloads = factory.CreateCounter("extauthz_registry_reloads_total", "Configuration snapshots swapped in, the first load included.");
        reloadRefusals = factory.CreateCounter("extauthz_registry_reload_refusals_total",
            "Configuration loads refused as invalid (a retry refused with the same errors is not counted again).");
        refusing = factory.CreateGauge("extauthz_registry_refusing", "1 when the latest configuration load was refused: the files on disk are not what is served.");

        cacheHits = factory.CreateCounter("extauthz_certificate_cache_hits_total", "Client certificates resolved without decoding anything.");
        cacheMisses = factory.CreateCounter("extauthz_certificate_cache_misses_total", "Client certificates (or XFCC headers) that had to be decoded.");
        cacheParses = factory.CreateCounter("extauthz_certificate_cache_parses_total", "Full X.509 parses of unregistered certificates an auto-registering CA may have signed.");
        cacheEntries = factory.CreateGauge("extauthz_certificate_cache_entries", "Certificates and XFCC headers the current snapshot's cache remembers.");
        cacheCapacity = factory.CreateGauge("extauthz_certificate_cache_capacity", "The most the current snapshot's certificate cache remembers.");

        Registry.AddBeforeCollectCallback(ReadSources);
    }

    /// <summary>The registry to serve at <c>/metrics</c> (<see cref="CollectorRegistry.CollectAndExportAsTextAsync(Stream, CancellationToken)"/>).</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Counts one Check and its latency.</summary>
    public void Record(DecisionRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);

        // Checks come in long runs of one combination, named by the same string instances: the last
        // combination's series are reused without the label and series lookups.
        var series = last;
        if (series is null || !series.Matches(record))
        {
            series = Series(record);
            last = series;
        }

        series.Checks.Inc();

        // A negative or non-finite latency is a bug elsewhere; it would only distort the histogram's sum.
        if (record.LatencyMicroseconds >= 0 && double.IsFinite(record.LatencyMicroseconds))
        {
            series.Latency.Observe(record.LatencyMicroseconds / 1_000_000);
        }
    }

    private RecordSeries Series(DecisionRecord record)
    {
        var key = (decisions.Label(record.Decision), listeners.Label(record.Listener), record.Action is null ? NoAction : actions.Label(record.Action));
        return series.GetOrAdd(key, static (k, metrics) => new RecordSeries(k.Decision, k.Listener, k.Action,
            metrics.checks.WithLabels(k.Decision, k.Listener, k.Action),
            metrics.latencyChildren.GetOrAdd(k.Listener, static (l, family) => family.WithLabels(l), metrics.latency)), this);
    }

    private void ReadSources()
    {
        // Scrapes may overlap; the cache bookkeeping below must see them one at a time.
        lock (scrapeLock)
        {
            if (decisionLog is not null)
            {
                logWritten.IncTo(decisionLog.Written);
                logDropped.IncTo(decisionLog.Dropped);
                logWriteErrors.IncTo(decisionLog.WriteErrors);
            }

            var snapshotInEffect = snapshot?.Invoke();
            var current = status?.Invoke();

            // The snapshot in effect names the generation; a fixed configuration (no reload status) has one too.
            generation.Set(snapshotInEffect?.Generation ?? current?.Generation ?? 0);
            if (current is not null)
            {
                reloadAttempts.IncTo(current.AttemptCount);
                reloads.IncTo(current.ReloadCount);
                reloadRefusals.IncTo(current.RefusedCount);
                refusing.Set(current.Refusing ? 1 : 0);
            }

            ReadCertificateCache(snapshotInEffect);
        }
    }

    /// <summary>
    /// Each snapshot has its own cache, whose counts start at 0. The counters add what each snapshot's
    /// cache did since the previous scrape, so they only grow across reloads. The replaced snapshot is
    /// held weakly, to count what it did between the last scrape and the swap without keeping it alive.
    /// </summary>
    private void ReadCertificateCache(RegistrySnapshot? current)
    {
        RegistrySnapshot? previous = null;
        cacheSnapshot?.TryGetTarget(out previous);
        if (!ReferenceEquals(previous, current))
        {
            if (previous is not null)
            {
                CountCacheSince(X509CertificateIdentity.CacheStatistics(previous));
            }

            cacheSnapshot = current is null ? null : new WeakReference<RegistrySnapshot>(current);
            cacheCounted = default;
        }

        if (current is null)
        {
            cacheEntries.Set(0);
            cacheCapacity.Set(0);
            return;
        }

        var figures = X509CertificateIdentity.CacheStatistics(current);
        CountCacheSince(figures);
        cacheEntries.Set(figures.Entries);
        cacheCapacity.Set(figures.Capacity);
    }

    private void CountCacheSince(CertificateCacheStatistics figures)
    {
        Add(cacheHits, figures.Hits - cacheCounted.Hits);
        Add(cacheMisses, figures.Misses - cacheCounted.Misses);
        Add(cacheParses, figures.Parses - cacheCounted.Parses);
        cacheCounted = figures;

        static void Add(Counter counter, long increase)
        {
            if (increase > 0)
            {
                counter.Inc(increase);
            }
        }
    }

    /// <summary>
    /// The series one combination of labels counts into; immutable, so it is shared without locks. A record
    /// matches it when it names the very label strings (the admitted instances, which Checks pass again and
    /// again): a reference comparison, where equal text in another instance just takes the lookups.
    /// </summary>
    private sealed class RecordSeries(string decision, string listener, string action, Counter.Child checks, Histogram.Child latency)
    {
        public Counter.Child Checks => checks;

        public Histogram.Child Latency => latency;

        public bool Matches(DecisionRecord record) =>
            ReferenceEquals(record.Decision, decision) && ReferenceEquals(record.Listener, listener)
            && (record.Action is null ? ReferenceEquals(action, NoAction) : ReferenceEquals(record.Action, action) && !ReferenceEquals(action, NoAction));
    }
}
