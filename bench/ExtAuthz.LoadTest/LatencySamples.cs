using System.Diagnostics;

namespace ExtAuthz.LoadTest;

/// <summary>Latency percentiles in microseconds (nearest rank over every sample).</summary>
internal sealed record Percentiles(long Count, double P50, double P90, double P99, double P999, double Max);

/// <summary>
/// Every latency of a phase, kept as Stopwatch ticks: a few hundred thousand samples per phase at most,
/// so an exact sorted array replaces an HDR histogram. Appending is lock-free for concurrent completions
/// into a presized buffer (open loop: the number of calls is known), or per caller into its own list
/// (closed loop), merged afterwards.
/// </summary>
internal sealed class LatencySamples
{
    private long[] ticks;
    private int count;

    public LatencySamples(int capacity) => ticks = new long[Math.Max(capacity, 1)];

    public int Count => Volatile.Read(ref count);

    /// <summary>Thread-safe while the capacity given suffices (the open loop's call count); throws beyond it.</summary>
    public void Add(long elapsedTicks)
    {
        var at = Interlocked.Increment(ref count) - 1;
        ticks[at] = elapsedTicks;
    }

    /// <summary>Not thread-safe: adds another set's samples (growing as needed).</summary>
    public void AddRange(LatencySamples other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (count + other.count > ticks.Length)
        {
            Array.Resize(ref ticks, Math.Max(ticks.Length * 2, count + other.count));
        }

        Array.Copy(other.ticks, 0, ticks, count, other.count);
        count += other.count;
    }

    /// <summary>Not thread-safe: appends one sample, growing as needed (one closed-loop caller's own set).</summary>
    public void Append(long elapsedTicks)
    {
        if (count == ticks.Length)
        {
            Array.Resize(ref ticks, ticks.Length * 2);
        }

        ticks[count++] = elapsedTicks;
    }

    /// <summary>Sorts the samples in place and reads p50, p90, p99, p99.9 and the maximum (nearest rank).</summary>
    public Percentiles Summarize()
    {
        if (count == 0)
        {
            return new Percentiles(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        }

        Array.Sort(ticks, 0, count);
        return new Percentiles(count, Rank(0.50), Rank(0.90), Rank(0.99), Rank(0.999), Micros(ticks[count - 1]));
    }

    private double Rank(double quantile) => Micros(ticks[(int)Math.Max(0, Math.Ceiling(quantile * count) - 1)]);

    public static double Micros(long elapsedTicks) => elapsedTicks * 1_000_000.0 / Stopwatch.Frequency;
}
