using System.Collections.Concurrent;
using System.IO.Pipelines;
using ExtAuthz.Identity.Decisions;
using ExtAuthz.Mqtt.Upstream;
using ExtAuthz.Registry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ExtAuthz.Mqtt.Gate;

/// <summary>
/// The MQTT gate: every client connection, whichever intake brought it, runs through
/// <see cref="RunAsync"/>, which checks CONNECT, opens the connection's own upstream broker
/// connection, and then checks each PUBLISH, SUBSCRIBE and delivered message against the registry
/// snapshot in effect (<c>docs/mqtt.md</c>). It keeps every live connection, so that a new
/// configuration re-checks them all (<see cref="Revalidate"/>) and a client ID connecting twice
/// ends the older connection.
/// </summary>
public sealed partial class MqttGate : IAsyncDisposable
{
    private readonly ConcurrentDictionary<long, GateSession> sessions = new();
    private readonly ConcurrentDictionary<string, GateSession> byClientId = new(StringComparer.Ordinal);
    private readonly Action<DecisionRecord>? decisions;
    private readonly GateDecisionIds ids = new();
    private readonly CancellationTokenSource stopping = new();
    private readonly SemaphoreSlim revalidating = new(1, 1);
    private long nextSessionId;
    private int disposed;

    /// <param name="snapshots">The configuration in effect (null while none has loaded: every CONNECT is refused).</param>
    /// <param name="broker">Where each client connection's upstream connection goes.</param>
    /// <param name="decisions">Receives every decision worth logging (every refusal, and each allowed decision when first made); called on the connection's thread, so it must not block.</param>
    public MqttGate(Func<RegistrySnapshot?> snapshots, IBrokerConnector broker, MqttGateOptions? options = null, Action<DecisionRecord>? decisions = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(snapshots);
        ArgumentNullException.ThrowIfNull(broker);
        Snapshots = snapshots;
        Broker = broker;
        Options = options ?? new MqttGateOptions();
        Options.Validate();
        this.decisions = decisions;
        Logger = logger ?? NullLogger.Instance;
    }

    public MqttGateOptions Options { get; }

    public IBrokerConnector Broker { get; }

    /// <summary>Live client connections (CONNECT read or still awaited).</summary>
    public int ConnectionCount => sessions.Count;

    internal Func<RegistrySnapshot?> Snapshots { get; }

    internal ILogger Logger { get; }

    internal GateDecisionIds Ids => ids;

    /// <summary>
    /// Runs one client connection to its end: returns when the client or the broker closed, the gate
    /// refused or closed it, or <paramref name="cancellationToken"/> fired. Never throws for anything the
    /// client or the broker does. The caller owns <paramref name="client"/> and closes it afterwards.
    /// </summary>
    /// <param name="sourceIp">The client's address (<c>aws:SourceIp</c>), when known.</param>
    /// <param name="domainName">The server name the client asked for (<c>iot:DomainName</c>), when known.</param>
    public async Task RunAsync(IDuplexPipe client, GateIntake intake, ClientIdentity identity, string? sourceIp, string? domainName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(identity);
        if (Volatile.Read(ref disposed) != 0)
        {
            // Stopping: a connection that arrives now is closed unanswered, as if the port were gone.
            return;
        }

        var session = new GateSession(this, Interlocked.Increment(ref nextSessionId), client, intake, identity, sourceIp, domainName);
        sessions[session.Id] = session;
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopping.Token);
            await session.RunAsync(linked.Token).ConfigureAwait(false);
        }
        finally
        {
            sessions.TryRemove(session.Id, out _);
            if (session.ClientId is { } clientId)
            {
                // Only this session's own entry: a newer connection with the same client ID keeps its place.
                byClientId.TryRemove(new KeyValuePair<string, GateSession>(clientId, session));
            }

            session.Dispose();
        }
    }

    /// <summary>
    /// Re-checks every live connection against the snapshot in effect (identity and <c>iot:Connect</c>),
    /// closes those no longer allowed, and makes the others decide afresh. Call it when the
    /// configuration changes; it runs in the background and returns at once.
    /// </summary>
    public Task Revalidate()
    {
        if (Volatile.Read(ref disposed) != 0)
        {
            return Task.CompletedTask;
        }

        return Task.Run(async () =>
        {
            // One pass at a time; a pass started after a change sees that change.
            await revalidating.WaitAsync().ConfigureAwait(false);
            try
            {
                if (Snapshots() is not { } snapshot)
                {
                    return;
                }

                foreach (var session in sessions.Values)
                {
                    session.Revalidate(snapshot);
                }
            }
#pragma warning disable CA1031 // A background pass must not die silently; what went wrong is logged.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogRevalidationFailed(Logger, ex);
            }
            finally
            {
                revalidating.Release();
            }
        });
    }

    /// <summary>Closes every connection (MQTT 5: DISCONNECT 0x8B, server shutting down) and waits for them to end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        foreach (var session in sessions.Values)
        {
            session.Close(GateCloseReason.ShuttingDown, "the gate is shutting down");
        }

        await stopping.CancelAsync().ConfigureAwait(false);
        var deadline = Options.TimeProvider.GetTimestamp();
        while (!sessions.IsEmpty && Options.TimeProvider.GetElapsedTime(deadline) < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), Options.TimeProvider).ConfigureAwait(false);
        }

        stopping.Dispose();
        revalidating.Dispose();
    }

    /// <summary>Records that <paramref name="session"/> now holds its client ID (its broker accepted it) and ends an older connection with the same ID.</summary>
    internal void TookClientId(GateSession session, string clientId)
    {
        GateSession? previous = null;
        byClientId.AddOrUpdate(clientId, session, (_, existing) =>
        {
            previous = existing;
            return session;
        });

        if (previous is not null && !ReferenceEquals(previous, session))
        {
            previous.Close(GateCloseReason.TakenOver, $"another connection with client ID {clientId} took over");
        }
    }

    internal void Emit(DecisionRecord decision)
    {
        if (decisions is null)
        {
            return;
        }

        try
        {
            decisions(decision);
        }
#pragma warning disable CA1031 // A failing observer must not take a connection down.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogObserverFailed(Logger, ex);
        }
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Error, Message = "Re-checking MQTT connections after a configuration change failed")]
    private static partial void LogRevalidationFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Error, Message = "The MQTT gate's decision observer failed")]
    private static partial void LogObserverFailed(ILogger logger, Exception exception);
}
