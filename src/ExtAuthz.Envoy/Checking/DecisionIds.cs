using System.Security.Cryptography;

namespace ExtAuthz.Envoy.Checking;

/// <summary>
/// Decision IDs: a random per-process prefix and a counter, so IDs are unique across replicas and
/// restarts without a random draw per Check, and sort by issue order within a process.
/// </summary>
public sealed class DecisionIds
{
    private readonly string prefix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
    private long counter;

    public string Next() => string.Create(null, stackalloc char[32], $"{prefix}-{Interlocked.Increment(ref counter):x8}");
}
