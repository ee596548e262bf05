using System.Net;
using System.Security.Cryptography.X509Certificates;
using ExtAuthz.Mqtt.Gate;
using ExtAuthz.Mqtt.Upstream;

namespace ExtAuthz.Mqtt.Hosting;

/// <summary>Where the gate listens, where it forwards to, and who may use its Envoy intakes (<c>serve</c>'s <c>--mqtt-*</c> and <c>--broker</c> flags).</summary>
public sealed record MqttGateHostOptions
{
    public static readonly IPEndPoint DefaultTunnel = new(IPAddress.Loopback, 9192);

    public static readonly IPEndPoint DefaultWebSocket = new(IPAddress.Loopback, 9194);

    /// <summary>The HTTP/2 (h2c) endpoint for Envoy's tcp_proxy tunnels; null when off.</summary>
    public IPEndPoint? Tunnel { get; init; } = DefaultTunnel;

    /// <summary>The HTTP/1.1 endpoint for MQTT over WebSocket routed by Envoy; null when off.</summary>
    public IPEndPoint? WebSocket { get; init; } = DefaultWebSocket;

    /// <summary>The gate's own listener for devices without Envoy; null when off.</summary>
    public IPEndPoint? Listen { get; init; }

    /// <summary>The server certificate (with its key) of <see cref="Listen"/>: mutual TLS. Null only with <see cref="InsecurePrincipal"/>.</summary>
    public X509Certificate2? ServerCertificate { get; init; }

    /// <summary>Development only: <see cref="Listen"/> is plain TCP, and every client is this registered certificate (by ID).</summary>
    public string? InsecurePrincipal { get; init; }

    /// <summary>The upstream broker; null for the embedded one.</summary>
    public BrokerEndpoint? Broker { get; init; }

    /// <summary>Where the embedded broker's TCP listener binds (when <see cref="Broker"/> is null); null for a random loopback port.</summary>
    public IPEndPoint? EmbeddedBrokerListen { get; init; }

    /// <summary>The only CAs trusted for the broker's TLS certificate; null for the system's store.</summary>
    public X509Certificate2Collection? BrokerTrust { get; init; }

    /// <summary>Peers allowed on the Envoy intakes.</summary>
    public IReadOnlyList<IPNetwork> IntakeAllow { get; init; } = IntakeGuard.Loopback;

    /// <summary>When set, requests on the Envoy intakes must carry it in <see cref="IntakeGuard.SecretHeader"/>.</summary>
    public string? IntakeSecret { get; init; }

    public MqttGateOptions Gate { get; init; } = new();
}
