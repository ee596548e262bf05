using System.Security.Cryptography;

namespace ExtAuthz.Mqtt.Gate;

/// <summary>
/// Decision IDs in the Check service's format (a random per-instance prefix and a counter), drawn by
/// the gate itself because its MQTT 5 refusals name the decision in their reason string.
/// </summary>
internal sealed class GateDecisionIds
{
    private readonly string prefix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
    private long counter;

    public string Next() => string.Create(null, stackalloc char[32], $"{prefix}-{Interlocked.Increment(ref counter):x8}");
}
