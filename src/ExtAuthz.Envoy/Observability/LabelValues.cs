using System.Buffers;
using System.Collections.Concurrent;

namespace ExtAuthz.Envoy.Observability;

/// <summary>
/// Keeps one metric label's values few: a value becomes its own label only if it has the expected
/// shape and fewer than <c>limit</c> values have been admitted; anything else is <see cref="Other"/>.
/// Every label value is a time series in Prometheus for ever, so a bug (or a request) that invents
/// values must not be able to create them without bound. Admitted values are answered with one lookup.
/// </summary>
internal sealed class LabelValues(int limit, Func<string, bool> hasShape)
{
    public const string Other = "other";

    private static readonly SearchValues<char> AsciiLetters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    private static readonly SearchValues<char> UpperCaseAndUnderscore =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZ_");

    private static readonly SearchValues<char> LowerCaseAndDigits =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789");

    private readonly ConcurrentDictionary<string, string> admitted = new(StringComparer.Ordinal);
    private int count;

    /// <summary>An IAM action of the IoT service: <c>iot:</c> and letters, 64 characters at most.</summary>
    public static bool IsIotAction(string value) =>
        value.Length is > 4 and <= 64 && value.StartsWith("iot:", StringComparison.Ordinal) && !value.AsSpan(4).ContainsAnyExcept(AsciiLetters);

    /// <summary>A decision name such as <c>EXPLICIT_DENY</c>: upper-case letters and underscores, 32 characters at most.</summary>
    public static bool IsDecision(string value) =>
        value.Length is > 0 and <= 32 && !value.AsSpan().ContainsAnyExcept(UpperCaseAndUnderscore);

    /// <summary>A listener name such as <c>mqtt</c>: lower-case letters and digits, 32 characters at most.</summary>
    public static bool IsListener(string value) =>
        value.Length is > 0 and <= 32 && !value.AsSpan().ContainsAnyExcept(LowerCaseAndDigits);

    public string Label(string? value)
    {
        if (value is null)
        {
            return Other;
        }

        if (admitted.TryGetValue(value, out var label))
        {
            return label;
        }

        // Only admitted values are stored, so the map is bounded too. Racing admissions may pass the limit by a few.
        if (!hasShape(value) || Volatile.Read(ref count) >= limit)
        {
            return Other;
        }

        if (admitted.TryAdd(value, value))
        {
            Interlocked.Increment(ref count);
        }

        return value;
    }
}
