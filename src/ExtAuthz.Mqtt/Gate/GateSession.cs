using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using ExtAuthz.Identity.Decisions;
using ExtAuthz.Mqtt.Codec;
using ExtAuthz.Mqtt.Upstream;
using ExtAuthz.Registry;
using Microsoft.Extensions.Logging;

namespace ExtAuthz.Mqtt.Gate;

/// <summary>
/// One client connection through the gate: CONNECT first (within the timeout), decided before the
/// broker hears of it; then two pumps, client to broker and broker to client, each reading whole
/// packets, deciding those that need it, and forwarding the rest byte for byte (the reader gives each
/// packet its bytes in memory of its own).
/// </summary>
internal sealed partial class GateSession : IDisposable
{
    /// <summary>How long the gate waits to hand a client its last DISCONNECT or CONNACK before closing anyway.</summary>
    private static readonly TimeSpan FarewellTimeout = TimeSpan.FromSeconds(1);

    private readonly MqttGate gate;
    private readonly IDuplexPipe client;
    private readonly GateIntake intake;
    private readonly ClientIdentity identity;
    private readonly string? sourceIp;
    private readonly string? domainName;
    private readonly PacketOutput toClient;
    private readonly CancellationTokenSource closing = new();

    // SUBSCRIBEs forwarded without some of their filters, by packet ID: each filter's own refusal code, null where the broker's SUBACK code goes.
    private readonly ConcurrentDictionary<ushort, byte?[]> partialSubscribes = new();

    // QoS 2 flows the gate finishes itself, by packet ID: PUBLISHes it refused from the client (3.1.1, drop mode) and took off the broker (iot:Receive refused).
    private readonly HashSet<ushort> refusedFromClient = [];
    private readonly HashSet<ushort> refusedFromBroker = [];

    private readonly TopicAliases clientAliases = new();
    private readonly TopicAliases brokerAliases = new();

    private PacketOutput? toBroker;
    private volatile SessionAuthorizer? authorizer;
    private MqttVersion version;
    private uint? clientMaximumPacketSize;
    private volatile bool connected;
    private volatile bool brokerDisconnected;
    private Ending? ending;

    public GateSession(MqttGate gate, long id, IDuplexPipe client, GateIntake intake, ClientIdentity identity, string? sourceIp, string? domainName)
    {
        this.gate = gate;
        Id = id;
        this.client = client;
        this.intake = intake;
        this.identity = identity;
        this.sourceIp = sourceIp;
        this.domainName = domainName;
        toClient = new PacketOutput(client.Output);
    }

    public long Id { get; }

    /// <summary>The client ID from CONNECT, once read.</summary>
    public string? ClientId { get; private set; }

    private bool IsClosing => closing.IsCancellationRequested;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var session = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, closing.Token);
        var token = session.Token;
        try
        {
            var connect = await ReadConnectAsync(token).ConfigureAwait(false);
            if (connect is null || !await AcceptAsync(connect, token).ConfigureAwait(false))
            {
                return;
            }

            BrokerConnection broker;
            try
            {
                broker = await gate.Broker.ConnectAsync(token).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                LogBrokerUnreachable(gate.Logger, ex, Id, gate.Broker.Description);
                authorizer!.Refuse("Connect", DecisionNames.Unavailable, $"the broker cannot be reached: {ex.Message}");
                await FarewellAsync(MqttPacketWriter.ConnAck(version, false, version == MqttVersion.V500 ? MqttReasonCodes.ServerUnavailable : MqttReasonCodes.V311ServerUnavailable)).ConfigureAwait(false);
                return;
            }

            await using (broker.ConfigureAwait(false))
            {
                toBroker = new PacketOutput(broker.Output);
                await toBroker.WriteAsync(connect.Raw, token).ConfigureAwait(false);
                await PumpBothAsync(broker, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Closed by the gate (revocation, takeover, shutdown) or by the intake; the farewell follows.
        }
        catch (IOException ex)
        {
            LogTransportEnded(gate.Logger, Id, ex.Message);
        }
#pragma warning disable CA1031 // A bug must end this connection only, logged, while the gate serves the others.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogFailed(gate.Logger, ex, Id);
            var refusal = SessionAuthorizer.RefuseFor(gate, intake, null, ClientId, gate.Snapshots()?.Generation ?? 0, "Protocol", DecisionNames.Error,
                $"internal error in the gate ({ex.GetType().Name}); the connection is closed", null, null, identity.Principal);
            End(MqttReasonCodes.ImplementationSpecificError, refusal.ClientReason);
        }
        finally
        {
            if (connected && !brokerDisconnected && version == MqttVersion.V500 && Volatile.Read(ref ending) is { Code: { } code } end)
            {
                await FarewellAsync(Fitting(reason => MqttPacketWriter.Disconnect(version, code, reason), end.Reason)).ConfigureAwait(false);
            }

            LogEnded(gate.Logger, Id, intake, ClientId, Volatile.Read(ref ending)?.Reason ?? "closed by the client");
            toBroker?.Dispose();
        }
    }

    /// <summary>Re-checks the connection against a new snapshot; closes it when it may no longer stay.</summary>
    public void Revalidate(RegistrySnapshot snapshot)
    {
        if (authorizer?.Revalidate(snapshot) is { } refusal)
        {
            Close(GateCloseReason.NotAuthorized, refusal.ClientReason);
        }
    }

    /// <summary>Ends the connection from outside its packet flow; an MQTT 5 client is told why.</summary>
    public void Close(GateCloseReason reason, string text)
    {
        var code = reason switch
        {
            GateCloseReason.NotAuthorized => MqttReasonCodes.NotAuthorized,
            GateCloseReason.TakenOver => MqttReasonCodes.SessionTakenOver,
            _ => MqttReasonCodes.ServerShuttingDown,
        };
        End(code, text);
        try
        {
            closing.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The connection ended meanwhile.
        }
    }

    public void Dispose()
    {
        closing.Dispose();
        toClient.Dispose();
    }

    /// <summary>Records why the connection ends; the first reason stays.</summary>
    private void End(byte? code, string reason) => Interlocked.CompareExchange(ref ending, new Ending(code, reason), null);

    /// <summary>The first packet, which must be CONNECT, within the connect timeout. Null when the connection ends here (refused and logged).</summary>
    /// <remarks>A malformed CONNECT gets no CONNACK: its version, and so the CONNACK's format, cannot be trusted.</remarks>
    private async Task<MqttPacket?> ReadConnectAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(gate.Options.ConnectTimeout);
        var reader = client.Input;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(timeout.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                var status = MqttPacketReader.TryRead(ref buffer, null, MqttDirection.ClientToServer, gate.Options.MaxPacketSize, out var packet, out var error);
                if (status == MqttReadStatus.Packet)
                {
                    // The reader accepts nothing but CONNECT before the version is known.
                    reader.AdvanceTo(buffer.Start);
                    return packet;
                }

                if (status != MqttReadStatus.NeedMoreData)
                {
                    var unsupported = MqttPacketReader.TryGetUnsupportedProtocolLevel(buffer, out var level);
                    reader.AdvanceTo(buffer.Start, buffer.End);
                    if (unsupported)
                    {
                        // MQTT 3.1.1's answer to a level it does not speak, in the format 3.1 clients read too.
                        RefuseEarly($"MQTT protocol level {level} is not supported (only 4, MQTT 3.1.1, and 5, MQTT 5.0)");
                        await FarewellAsync(MqttPacketWriter.ConnAck(MqttVersion.V311, false, MqttReasonCodes.V311UnacceptableProtocolVersion)).ConfigureAwait(false);
                        return null;
                    }

                    RefuseEarly(status == MqttReadStatus.TooLarge
                        ? $"the CONNECT is larger than the gate's limit of {gate.Options.MaxPacketSize} bytes"
                        : $"malformed first packet: {error}");
                    return null;
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty)
                    {
                        RefuseEarly("the connection closed in the middle of its CONNECT");
                    }

                    return null;
                }
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            RefuseEarly($"no CONNECT within {gate.Options.ConnectTimeout.TotalSeconds:0.###} s");
            return null;
        }
    }

    private void RefuseEarly(string reason) =>
        SessionAuthorizer.RefuseFor(gate, intake, null, null, gate.Snapshots()?.Generation ?? 0, "Protocol", DecisionNames.InvalidRequest, reason, null, null, identity.Principal);

    /// <summary>Decides CONNECT; on refusal answers CONNACK with the refusal code and returns false.</summary>
    private async Task<bool> AcceptAsync(MqttPacket packet, CancellationToken cancellationToken)
    {
        var connect = packet.Connect!;
        version = connect.Version;
        ClientId = connect.ClientId;
        clientMaximumPacketSize = connect.MaximumPacketSize;
        var v5 = version == MqttVersion.V500;
        if (connect.ClientId.Length == 0)
        {
            // The policy resource is client/{clientId}: it must be known before a broker would assign one.
            SessionAuthorizer.RefuseFor(gate, intake, null, "", gate.Snapshots()?.Generation ?? 0, "Connect", DecisionNames.InvalidRequest,
                "an empty client ID is not accepted: iot:Connect is decided on client/{clientId}", "iot:Connect", null, identity.Principal);
            await FarewellAsync(MqttPacketWriter.ConnAck(version, false, v5 ? MqttReasonCodes.ClientIdentifierNotValid : MqttReasonCodes.V311IdentifierRejected)).ConfigureAwait(false);
            return false;
        }

        if (gate.Snapshots() is not { } snapshot)
        {
            SessionAuthorizer.RefuseFor(gate, intake, null, connect.ClientId, 0, "Connect", DecisionNames.Unavailable,
                "no configuration has loaded yet; every connection is refused until one does", "iot:Connect", null, identity.Principal);
            await FarewellAsync(MqttPacketWriter.ConnAck(version, false, v5 ? MqttReasonCodes.ServerUnavailable : MqttReasonCodes.V311ServerUnavailable)).ConfigureAwait(false);
            return false;
        }

        var facts = new ConnectionFacts
        {
            ClientId = connect.ClientId,
            SourceIp = sourceIp,
            DomainName = domainName,

            // MQTT 5 keeps a session after a clean start too when its expiry interval is not 0.
            PersistentSession = !connect.CleanSession || (v5 && connect.SessionExpiryInterval is > 0),
            LastWillTopic = connect.WillTopic,
        };
        authorizer = new SessionAuthorizer(gate, intake, identity, facts, snapshot, connect.WillRetain);
        var verdict = authorizer.ConnectVerdict;
        if (!verdict.Refused)
        {
            return !cancellationToken.IsCancellationRequested;
        }

        var code = verdict.Decision == DecisionNames.InvalidRequest
            ? v5 ? MqttReasonCodes.TopicNameInvalid : MqttReasonCodes.V311NotAuthorized
            : v5 ? MqttReasonCodes.NotAuthorized : MqttReasonCodes.V311NotAuthorized;
        await FarewellAsync(Fitting(reason => MqttPacketWriter.ConnAck(version, false, code, reason), v5 ? verdict.ClientReason : null)).ConfigureAwait(false);
        return false;
    }

    private async Task PumpBothAsync(BrokerConnection broker, CancellationToken cancellationToken)
    {
        using var pumps = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var fromClient = PumpAsync(client.Input, MqttDirection.ClientToServer, gate.Options.MaxPacketSize, FromClientAsync, "the client", pumps.Token);
        var fromBroker = PumpAsync(broker.Input, MqttDirection.ServerToClient, MqttGateOptions.MqttMaxPacketSize, FromBrokerAsync, "the broker", pumps.Token);
        var first = await Task.WhenAny(fromClient, fromBroker).ConfigureAwait(false);
        if (first == fromBroker && Volatile.Read(ref ending) is null)
        {
            End(MqttReasonCodes.UnspecifiedError, "the broker closed the connection");
        }

        await pumps.CancelAsync().ConfigureAwait(false);
        foreach (var pump in new[] { fromClient, fromBroker })
        {
            try
            {
                await pump.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The other side ended first.
            }
            catch (IOException ex)
            {
                LogTransportEnded(gate.Logger, Id, ex.Message);
            }
        }
    }

    /// <summary>Reads and handles whole packets until the sender closes, a handler says stop, or a packet is malformed.</summary>
    private async Task PumpAsync(PipeReader reader, MqttDirection direction, int maxPacketSize, Func<MqttPacket, CancellationToken, ValueTask<bool>> handle,
        string sender, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var go = true;
            try
            {
                while (go)
                {
                    var status = MqttPacketReader.TryRead(ref buffer, version, direction, maxPacketSize, out var packet, out var error);
                    if (status == MqttReadStatus.NeedMoreData)
                    {
                        break;
                    }

                    if (status != MqttReadStatus.Packet)
                    {
                        Malformed(direction, status == MqttReadStatus.TooLarge, error);
                        return;
                    }

                    go = await handle(packet!, cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
            }

            if (!go || IsClosing)
            {
                return;
            }

            if (result.IsCompleted)
            {
                if (!buffer.IsEmpty)
                {
                    LogTruncated(gate.Logger, Id, sender);
                }

                return;
            }
        }
    }

    /// <summary>A malformed packet ends this connection only. From the client it is a logged refusal; from the broker, a broker fault.</summary>
    private void Malformed(MqttDirection direction, bool tooLarge, string? error)
    {
        if (direction == MqttDirection.ClientToServer)
        {
            var reason = tooLarge ? $"a packet larger than the gate's limit of {gate.Options.MaxPacketSize} bytes" : $"malformed packet: {error}";
            authorizer!.Refuse("Protocol", DecisionNames.InvalidRequest, reason);
            End(tooLarge ? MqttReasonCodes.PacketTooLarge : MqttReasonCodes.MalformedPacket, reason);
            return;
        }

        LogBrokerMalformed(gate.Logger, Id, error ?? "too large");
        End(MqttReasonCodes.UnspecifiedError, "the broker sent a malformed packet");
    }

    private async ValueTask<bool> FromClientAsync(MqttPacket packet, CancellationToken cancellationToken)
    {
        switch (packet.Type)
        {
            case MqttPacketType.Publish:
                return await FromClientPublishAsync(packet, cancellationToken).ConfigureAwait(false);
            case MqttPacketType.Subscribe:
                return await FromClientSubscribeAsync(packet, cancellationToken).ConfigureAwait(false);
            case MqttPacketType.PubRel when refusedFromClient.Remove(packet.PacketId):
                await toClient.WriteAsync(MqttPacketWriter.PubComp(version, packet.PacketId), cancellationToken).ConfigureAwait(false);
                return true;
            default:
                await toBroker!.WriteAsync(packet.Raw, cancellationToken).ConfigureAwait(false);
                return true;
        }
    }

    private async ValueTask<bool> FromClientPublishAsync(MqttPacket packet, CancellationToken cancellationToken)
    {
        var publish = packet.Publish!;
        if (!clientAliases.TryResolve(publish.Topic, publish.TopicAlias, out var topic))
        {
            var reason = $"topic alias {publish.TopicAlias} was never set on this connection";
            authorizer!.Refuse("Protocol", DecisionNames.InvalidRequest, reason);
            End(MqttReasonCodes.TopicAliasInvalid, reason);
            return false;
        }

        Verdict verdict;
        if (IotTopics.PublishTopicError(topic, publish.Retain) is { } invalid)
        {
            verdict = authorizer!.Refuse("Publish", DecisionNames.InvalidRequest, invalid, publish.Retain ? "iot:RetainPublish" : "iot:Publish", authorizer.Snapshot.IotArn("topic/" + topic));
        }
        else
        {
            verdict = Decide("Publish", "iot:Publish", "topic/" + topic);
            if (verdict.Allowed && publish.Retain)
            {
                verdict = Decide("Publish", "iot:RetainPublish", "topic/" + topic);
            }
        }

        if (IsClosing)
        {
            return false;
        }

        if (!verdict.Refused)
        {
            var raw = clientAliases.Forwarding(publish.Topic, publish.TopicAlias, topic) ? packet.Raw : TopicAliases.WithTopic(packet.Raw.Span, topic);
            await toBroker!.WriteAsync(raw, cancellationToken).ConfigureAwait(false);
            return true;
        }

        if (version == MqttVersion.V500)
        {
            var code = verdict.Decision == DecisionNames.InvalidRequest ? MqttReasonCodes.TopicNameInvalid : MqttReasonCodes.NotAuthorized;
            var answer = publish.Qos switch
            {
                1 => Fitting(reason => MqttPacketWriter.PubAck(version, publish.PacketId, code, reason), verdict.ClientReason),
                2 => Fitting(reason => MqttPacketWriter.PubRec(version, publish.PacketId, code, reason), verdict.ClientReason),
                _ => null,
            };
            if (answer is not null)
            {
                await toClient.WriteAsync(answer, cancellationToken).ConfigureAwait(false);
            }

            return true;
        }

        if (gate.Options.DeniedPublishV311 == DeniedPublishV311.Close)
        {
            End(null, verdict.Reason);
            return false;
        }

        if (publish.Qos == 1)
        {
            await toClient.WriteAsync(MqttPacketWriter.PubAck(version, publish.PacketId), cancellationToken).ConfigureAwait(false);
        }
        else if (publish.Qos == 2)
        {
            refusedFromClient.Add(publish.PacketId);
            await toClient.WriteAsync(MqttPacketWriter.PubRec(version, publish.PacketId), cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>
    /// Each filter is decided on its own. All allowed: the packet goes on as it is. None: the gate
    /// answers the SUBACK. Some: the broker gets a SUBSCRIBE with only those, and its SUBACK is put
    /// back together in the client's order (<see cref="FromBrokerAsync"/>).
    /// </summary>
    private async ValueTask<bool> FromClientSubscribeAsync(MqttPacket packet, CancellationToken cancellationToken)
    {
        var subscribe = packet.Subscribe!;
        var v5 = version == MqttVersion.V500;
        var codes = new byte?[subscribe.Subscriptions.Count];
        var allowed = new List<TopicSubscription>(codes.Length);
        for (var i = 0; i < codes.Length; i++)
        {
            var subscription = subscribe.Subscriptions[i];
            if (IotTopics.TopicFilterError(subscription.Filter) is { } invalid)
            {
                authorizer!.Refuse("Subscribe", DecisionNames.InvalidRequest, invalid, "iot:Subscribe", authorizer.Snapshot.IotArn("topicfilter/" + subscription.Filter));
                codes[i] = v5 ? MqttReasonCodes.TopicFilterInvalid : MqttReasonCodes.V311SubscribeFailure;
                continue;
            }

            var verdict = Decide("Subscribe", "iot:Subscribe", "topicfilter/" + subscription.Filter);
            if (IsClosing)
            {
                return false;
            }

            if (verdict.Refused)
            {
                codes[i] = v5 ? MqttReasonCodes.NotAuthorized : MqttReasonCodes.V311SubscribeFailure;
            }
            else
            {
                allowed.Add(subscription);
            }
        }

        if (allowed.Count == codes.Length)
        {
            await toBroker!.WriteAsync(packet.Raw, cancellationToken).ConfigureAwait(false);
        }
        else if (allowed.Count == 0)
        {
            await toClient.WriteAsync(MqttPacketWriter.SubAck(version, subscribe.PacketId, codes.Select(c => c!.Value).ToArray()), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            partialSubscribes[subscribe.PacketId] = codes;
            await toBroker!.WriteAsync(MqttPacketWriter.Subscribe(version, subscribe.PacketId, allowed, subscribe.Properties), cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    private async ValueTask<bool> FromBrokerAsync(MqttPacket packet, CancellationToken cancellationToken)
    {
        switch (packet.Type)
        {
            case MqttPacketType.ConnAck:
                await toClient.WriteAsync(packet.Raw, cancellationToken).ConfigureAwait(false);
                if (packet.ConnAck!.ReturnCode == 0 && !connected)
                {
                    connected = true;
                    gate.TookClientId(this, ClientId!);
                }

                return true;
            case MqttPacketType.Publish:
                return await FromBrokerPublishAsync(packet, cancellationToken).ConfigureAwait(false);
            case MqttPacketType.SubAck when partialSubscribes.TryRemove(packet.PacketId, out var codes):
                await toClient.WriteAsync(MqttPacketWriter.SubAck(version, packet.PacketId, Merge(codes, packet.SubAck!.ReasonCodes)), cancellationToken).ConfigureAwait(false);
                return true;
            case MqttPacketType.PubRel when refusedFromBroker.Remove(packet.PacketId):
                await toBroker!.WriteAsync(MqttPacketWriter.PubComp(version, packet.PacketId), cancellationToken).ConfigureAwait(false);
                return true;
            case MqttPacketType.Disconnect:
                // The broker says why (a takeover, say); the client hears it as it is, and nothing more from the gate.
                // Sent as a farewell, not cancelled when the gate closes this connection meanwhile: on a takeover the
                // broker's DISCONNECT and the gate's own close of the older connection arrive together.
                brokerDisconnected = true;
                End(null, "the broker sent DISCONNECT");
                await FarewellAsync(packet.Raw).ConfigureAwait(false);
                return true;
            default:
                await toClient.WriteAsync(packet.Raw, cancellationToken).ConfigureAwait(false);
                return true;
        }
    }

    /// <summary>iot:Receive on each delivered topic; a refused message is acknowledged to the broker by the gate, so the broker's session stays consistent.</summary>
    private async ValueTask<bool> FromBrokerPublishAsync(MqttPacket packet, CancellationToken cancellationToken)
    {
        var publish = packet.Publish!;
        if (!brokerAliases.TryResolve(publish.Topic, publish.TopicAlias, out var topic))
        {
            LogBrokerMalformed(gate.Logger, Id, $"topic alias {publish.TopicAlias} was never set");
            End(MqttReasonCodes.UnspecifiedError, "the broker used a topic alias it never set");
            return false;
        }

        var verdict = Decide("Receive", "iot:Receive", "topic/" + topic);
        if (IsClosing)
        {
            return false;
        }

        if (!verdict.Refused)
        {
            var raw = brokerAliases.Forwarding(publish.Topic, publish.TopicAlias, topic) ? packet.Raw : TopicAliases.WithTopic(packet.Raw.Span, topic);
            await toClient.WriteAsync(raw, cancellationToken).ConfigureAwait(false);
            return true;
        }

        if (publish.Qos == 1)
        {
            await toBroker!.WriteAsync(MqttPacketWriter.PubAck(version, publish.PacketId), cancellationToken).ConfigureAwait(false);
        }
        else if (publish.Qos == 2)
        {
            refusedFromBroker.Add(publish.PacketId);
            await toBroker!.WriteAsync(MqttPacketWriter.PubRec(version, publish.PacketId), cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    private static byte[] Merge(byte?[] own, IReadOnlyList<byte> fromBroker)
    {
        var merged = new byte[own.Length];
        var next = 0;
        for (var i = 0; i < own.Length; i++)
        {
            // A broker that answers fewer codes than it was asked for failed the rest.
            merged[i] = own[i] ?? (next < fromBroker.Count ? fromBroker[next++] : MqttReasonCodes.V311SubscribeFailure);
        }

        return merged;
    }

    /// <summary>A packet with a reason string, or without it when it would exceed the client's Maximum Packet Size (MQTT 5 forbids sending more; the reason string is what may go).</summary>
    private byte[] Fitting(Func<string?, byte[]> build, string? reason)
    {
        var packet = build(reason);
        return reason is not null && clientMaximumPacketSize is { } maximum && packet.Length > maximum ? build(null) : packet;
    }

    private Verdict Decide(string operation, string action, string resource)
    {
        var verdict = authorizer!.Decide(operation, action, resource, out var revoked);
        if (revoked is { } refusal)
        {
            Close(GateCloseReason.NotAuthorized, refusal.ClientReason);
        }

        return verdict;
    }

    /// <summary>The gate's last word to the client (a refusing CONNACK, a DISCONNECT), sent even though the connection is closing, but not waited on for long.</summary>
    private async Task FarewellAsync(ReadOnlyMemory<byte> packet)
    {
        using var timeout = new CancellationTokenSource(FarewellTimeout);
        try
        {
            await toClient.WriteAsync(packet, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            LogFarewellLost(gate.Logger, Id, ex.Message);
        }
    }

    private sealed record Ending(byte? Code, string Reason);

    [LoggerMessage(EventId = 5010, Level = LogLevel.Debug, Message = "MQTT connection {Id} ({Intake}, client ID {ClientId}) ended: {Reason}")]
    private static partial void LogEnded(ILogger logger, long id, GateIntake intake, string? clientId, string reason);

    [LoggerMessage(EventId = 5011, Level = LogLevel.Debug, Message = "MQTT connection {Id}: the transport ended: {Message}")]
    private static partial void LogTransportEnded(ILogger logger, long id, string message);

    [LoggerMessage(EventId = 5012, Level = LogLevel.Warning, Message = "MQTT connection {Id}: the broker {Broker} cannot be reached; the client is refused")]
    private static partial void LogBrokerUnreachable(ILogger logger, Exception exception, long id, string broker);

    [LoggerMessage(EventId = 5013, Level = LogLevel.Warning, Message = "MQTT connection {Id}: the broker broke the protocol ({Error}); the connection is closed")]
    private static partial void LogBrokerMalformed(ILogger logger, long id, string error);

    [LoggerMessage(EventId = 5014, Level = LogLevel.Debug, Message = "MQTT connection {Id}: {Sender} closed in the middle of a packet")]
    private static partial void LogTruncated(ILogger logger, long id, string sender);

    [LoggerMessage(EventId = 5016, Level = LogLevel.Error, Message = "MQTT connection {Id} failed in the gate; it is closed")]
    private static partial void LogFailed(ILogger logger, Exception exception, long id);

    [LoggerMessage(EventId = 5015, Level = LogLevel.Debug, Message = "MQTT connection {Id}: the last packet to the client was not delivered: {Message}")]
    private static partial void LogFarewellLost(ILogger logger, long id, string message);
}
