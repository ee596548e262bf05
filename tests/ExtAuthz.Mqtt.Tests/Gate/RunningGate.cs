using System.Collections.Concurrent;
using System.Net;
using ExtAuthz.Identity.Decisions;
using ExtAuthz.Identity.Sessions;
using ExtAuthz.Identity.Tests.Support;
using ExtAuthz.Mqtt.Gate;
using ExtAuthz.Mqtt.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ExtAuthz.Mqtt.Tests.Gate;

/// <summary>
/// The gate on Kestrel over loopback, as <c>serve</c> hosts it: the h2c tunnel, the WebSocket endpoint
/// and its own mutual-TLS listener, each on a free port, in front of the embedded broker, deciding with a
/// <see cref="GateFleet"/>'s watched configuration. Records every decision and every PUBLISH that
/// reached the broker.
/// </summary>
internal sealed class RunningGate : IAsyncDisposable
{
    private readonly WebApplication app;

    private RunningGate(WebApplication app, MqttGateHost host, MqttGateHostOptions options, SessionHandles sessions)
    {
        this.app = app;
        Host = host;
        Options = options;
        Sessions = sessions;
    }

    public MqttGateHost Host { get; }

    public MqttGateHostOptions Options { get; }

    /// <summary>The key the Check service would sign WebSocket session handles with.</summary>
    public SessionHandles Sessions { get; }

    public ConcurrentQueue<DecisionRecord> Decisions { get; } = new();

    /// <summary>Topics of the PUBLISHes the broker accepted from clients.</summary>
    public ConcurrentQueue<(string Topic, bool Retain)> BrokerPublishes { get; } = new();

    /// <summary>Filters the broker accepted subscriptions to.</summary>
    public ConcurrentQueue<string> BrokerSubscriptions { get; } = new();

    public int TunnelPort => Host.EndpointOf(GateIntake.Tunnel)!.Port;

    public int WebSocketPort => Host.EndpointOf(GateIntake.WebSocket)!.Port;

    public int ListenPort => Host.EndpointOf(GateIntake.Tls)!.Port;

    public static async Task<RunningGate> StartAsync(GateFleet fleet, Func<MqttGateHostOptions, MqttGateHostOptions>? configure = null)
    {
        var server = Pki.Device("CN=localhost", fleet.Ca, sans: names =>
        {
            names.AddDnsName("localhost");
            names.AddIpAddress(IPAddress.Loopback);
        });
        var options = new MqttGateHostOptions
        {
            Tunnel = new IPEndPoint(IPAddress.Loopback, 0),
            WebSocket = new IPEndPoint(IPAddress.Loopback, 0),
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            ServerCertificate = server,
        };
        options = configure?.Invoke(options) ?? options;
        var sessions = SessionHandles.WithRandomKey(TimeSpan.FromMinutes(1));
        RunningGate? running = null;
        var host = new MqttGateHost(options, () => fleet.Source.Current, sessions, decision => running!.Decisions.Enqueue(decision), NullLoggerFactory.Instance);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(host.ConfigureKestrel);
        var app = builder.Build();
        host.UseIntakes(app);
        running = new RunningGate(app, host, options, sessions);
        await host.StartAsync();
        if (host.EmbeddedBroker is { } broker)
        {
            broker.Server.InterceptingPublishAsync += args =>
            {
                running.BrokerPublishes.Enqueue((args.ApplicationMessage.Topic, args.ApplicationMessage.Retain));
                return Task.CompletedTask;
            };
            broker.Server.ClientSubscribedTopicAsync += args =>
            {
                running.BrokerSubscriptions.Enqueue(args.TopicFilter.Topic);
                return Task.CompletedTask;
            };
        }

        fleet.Source.SnapshotChanged += (_, _) => host.OnSnapshotChanged();
        await app.StartAsync();
        return running;
    }

    /// <summary>The decisions so far with this operation and decision name.</summary>
    public DecisionRecord[] DecisionsOf(string operation, string decision) =>
        Decisions.Where(d => d.Operation == operation && d.Decision == decision).ToArray();

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
