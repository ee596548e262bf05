using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace ExtAuthz.Mqtt.Hosting;

/// <summary>
/// Who may use the Envoy intakes (the tunnel and the WebSocket endpoint), which trust what Envoy
/// wrote in headers: only peers in the allow list (by default loopback, where a sidecar Envoy sits),
/// and, when a secret is configured, only requests carrying it in <see cref="SecretHeader"/> (a second
/// lock for when Envoy reaches the gate over a pod network).
/// </summary>
public sealed class IntakeGuard
{
    public const string SecretHeader = "x-extauthz-intake-secret";

    private readonly IPNetwork[] allowed;
    private readonly byte[]? secret;

    public IntakeGuard(IReadOnlyList<IPNetwork> allowed, string? secret)
    {
        ArgumentNullException.ThrowIfNull(allowed);
        this.allowed = [.. allowed];
        this.secret = string.IsNullOrEmpty(secret) ? null : Encoding.UTF8.GetBytes(secret);
    }

    /// <summary>Loopback, IPv4 and IPv6.</summary>
    public static IReadOnlyList<IPNetwork> Loopback { get; } = [IPNetwork.Parse("127.0.0.0/8"), IPNetwork.Parse("::1/128")];

    /// <summary>Null when the peer may use the intake; else why not (for the log, never for the peer).</summary>
    public string? Refusal(IPAddress? peer, string? presentedSecret)
    {
        if (peer is null)
        {
            return "the peer's address is unknown";
        }

        var address = peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : peer;
        if (!Array.Exists(allowed, network => network.Contains(address)))
        {
            return $"{address} is not in the intake allow list ({string.Join(", ", allowed)})";
        }

        if (secret is null)
        {
            return null;
        }

        var presented = Encoding.UTF8.GetBytes(presentedSecret ?? "");
        return CryptographicOperations.FixedTimeEquals(presented, secret) ? null : $"the {SecretHeader} header is missing or wrong";
    }
}
