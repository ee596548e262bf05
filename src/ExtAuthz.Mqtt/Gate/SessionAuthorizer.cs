using System.Collections.Concurrent;
using System.Diagnostics;
using ExtAuthz.Identity;
using ExtAuthz.Identity.Decisions;
using ExtAuthz.Policy;
using ExtAuthz.Registry;

namespace ExtAuthz.Mqtt.Gate;

/// <summary>
/// One connection's authorization: its identity resolved against a snapshot, and the decisions made
/// with it, cached by (action, resource) until the snapshot changes. Every refusal is emitted as a
/// decision, cached or not; an allowed decision only when it is first made, so a busy connection's
/// log holds what was decided rather than every message.
/// </summary>
internal sealed class SessionAuthorizer
{
    private readonly MqttGate gate;
    private readonly GateIntake intake;
    private readonly ClientIdentity identity;
    private readonly ConnectionFacts facts;
    private readonly string clientId;
    private readonly Lock changing = new();
    private State state;

    /// <summary>Resolves the identity against <paramref name="snapshot"/> and decides CONNECT; <see cref="ConnectVerdict"/> says how that went.</summary>
    public SessionAuthorizer(MqttGate gate, GateIntake intake, ClientIdentity identity, ConnectionFacts facts, RegistrySnapshot snapshot, bool willRetain)
    {
        this.gate = gate;
        this.intake = intake;
        this.identity = identity;
        this.facts = facts;
        clientId = facts.ClientId!;
        WillRetain = willRetain;
        (state, ConnectVerdict) = Authorize(snapshot, "Connect", logAllowed: true);
    }

    public Verdict ConnectVerdict { get; }

    private bool WillRetain { get; }

    /// <summary>The snapshot this connection decides with.</summary>
    public RegistrySnapshot Snapshot => Volatile.Read(ref state).Snapshot;

    /// <summary>
    /// Re-resolves the identity and re-decides <c>iot:Connect</c> (and the Will) against a newer
    /// snapshot, dropping cached decisions; returns the refusal when the connection may no longer stay.
    /// </summary>
    public Verdict? Revalidate(RegistrySnapshot snapshot)
    {
        lock (changing)
        {
            if (ReferenceEquals(state.Snapshot, snapshot) || state.Snapshot.Generation > snapshot.Generation)
            {
                return null;
            }

            var (next, verdict) = Authorize(snapshot, "Recheck", logAllowed: false);
            Volatile.Write(ref state, next);
            return verdict.Refused ? verdict : null;
        }
    }

    /// <summary>
    /// Decides <paramref name="action"/> on <paramref name="resource"/> (the ARN's resource part, e.g.
    /// <c>topic/a/b</c>) for <paramref name="operation"/>; with the snapshot in effect, re-checking the
    /// connection first when that has changed (<paramref name="revoked"/> then holds the refusal).
    /// </summary>
    public Verdict Decide(string operation, string action, string resource, out Verdict? revoked)
    {
        revoked = null;
        if (gate.Snapshots() is { } current && !ReferenceEquals(current, Volatile.Read(ref state).Snapshot))
        {
            revoked = Revalidate(current);
        }

        var started = Stopwatch.GetTimestamp();
        var now = Volatile.Read(ref state);
        var key = (action, resource);
        if (now.Cache.TryGetValue(key, out var cached))
        {
            if (cached.Verdict.Allowed)
            {
                return cached.Verdict;
            }

            // Every refusal is logged, each under its own ID.
            var id = gate.Ids.Next();
            gate.Emit(cached.Record with { DecisionId = id, Time = gate.Options.TimeProvider.GetUtcNow(), LatencyMicroseconds = Stopwatch.GetElapsedTime(started).TotalMicroseconds });
            return cached.Verdict with { DecisionId = id };
        }

        var (verdict, record) = Evaluate(now, operation, action, resource, started);
        if (now.Cache.Count >= gate.Options.DecisionCacheCapacity)
        {
            now.Cache.Clear();
        }

        now.Cache[key] = new Cached(verdict, record);
        gate.Emit(record);

        return verdict;
    }

    /// <summary>Logs a refusal that no policy decided (a malformed packet, an invalid topic, a missing CONNECT).</summary>
    public Verdict Refuse(string operation, string decision, string reason, string? action = null, string? resource = null) =>
        RefuseFor(gate, intake, Volatile.Read(ref state).Identity, facts.ClientId, Volatile.Read(ref state).Snapshot.Generation, operation, decision, reason, action, resource, identity.Principal);

    /// <summary>A refusal before any authorizer exists (no CONNECT yet, or no configuration).</summary>
    /// <param name="regardlessOfDryRun">The refusal stands under dry run too (a WebSocket upgrade without a valid session handle has no principal to carry on with).</param>
    public static Verdict RefuseFor(MqttGate gate, GateIntake intake, IdentityResult? identity, string? clientId, long generation, string operation,
        string decision, string reason, string? action, string? resource, string? principal, bool regardlessOfDryRun = false)
    {
        var id = gate.Ids.Next();

        // Dry run lets identity refusals through (as the Check service does); protocol faults, an
        // unreachable broker and bugs end the connection whatever the mode.
        var enforced = regardlessOfDryRun || decision != DecisionNames.Unauthenticated || !gate.Options.DryRun;
        gate.Emit(new DecisionRecord
        {
            Time = gate.Options.TimeProvider.GetUtcNow(),
            DecisionId = id,
            Listener = intake.ListenerName(),
            Operation = operation,
            Decision = decision,
            Enforced = enforced,
            PrincipalKind = identity?.Subject?.Kind.Name(),
            Principal = identity?.Subject?.PrincipalId ?? identity?.CredentialId ?? principal,
            CertificateId = identity?.CredentialId,
            Thing = identity?.Subject?.Thing?.Name,
            ClientId = clientId,
            Action = action,
            Resource = resource,
            Reason = reason,
            Generation = generation,
        });
        return new Verdict(false, enforced, decision, reason, id);
    }

    /// <summary>Identity, then iot:Connect on the client ID, then the Will: iot:Publish (and iot:RetainPublish) on its topic, since the broker publishes it without asking.</summary>
    private (State State, Verdict Verdict) Authorize(RegistrySnapshot snapshot, string operation, bool logAllowed)
    {
        var started = Stopwatch.GetTimestamp();
        var resolved = identity.Resolve(snapshot, facts, gate.Options.TimeProvider);
        var next = new State(snapshot, resolved);
        if (!resolved.Succeeded)
        {
            var refusal = RefuseFor(gate, intake, resolved, clientId, snapshot.Generation, operation, DecisionNames.Unauthenticated,
                resolved.FailureReason ?? "the credentials were refused", "iot:Connect", snapshot.IotArn("client/" + clientId), identity.Principal);
            return (next, refusal);
        }

        var steps = new List<(string Action, string Resource)> { ("iot:Connect", "client/" + clientId) };
        if (facts.LastWillTopic is { } will)
        {
            if (IotTopics.PublishTopicError(will, WillRetain) is { } invalid)
            {
                var refusal = RefuseFor(gate, intake, resolved, clientId, snapshot.Generation, operation, DecisionNames.InvalidRequest,
                    $"the Will topic is not valid: {invalid}", "iot:Publish", snapshot.IotArn("topic/" + will), identity.Principal);
                return (next, refusal);
            }

            steps.Add(("iot:Publish", "topic/" + will));
            if (WillRetain)
            {
                steps.Add(("iot:RetainPublish", "topic/" + will));
            }
        }

        // The CONNECT decision names iot:Connect when everything is allowed (that is the action asked
        // for), else the first step refused.
        var connect = Evaluate(next, operation, steps[0].Action, steps[0].Resource, started);
        var outcome = connect;
        for (var i = 1; i < steps.Count && outcome.Verdict.Allowed; i++)
        {
            var step = Evaluate(next, operation, steps[i].Action, steps[i].Resource, started);
            outcome = step.Verdict.Allowed ? connect : step;
        }

        if (!outcome.Verdict.Allowed || logAllowed)
        {
            gate.Emit(outcome.Record);
        }

        return (next, outcome.Verdict);
    }

    private (Verdict Verdict, DecisionRecord Record) Evaluate(State now, string operation, string action, string resource, long started)
    {
        var subject = now.Identity.Subject;
        var arn = now.Snapshot.IotArn(resource);
        var id = gate.Ids.Next();
        var record = new DecisionRecord
        {
            Time = gate.Options.TimeProvider.GetUtcNow(),
            DecisionId = id,
            Listener = intake.ListenerName(),
            Operation = operation,
            Decision = DecisionNames.Unauthenticated,
            PrincipalKind = subject?.Kind.Name(),
            Principal = subject?.PrincipalId ?? now.Identity.CredentialId ?? identity.Principal,
            CertificateId = now.Identity.CredentialId,
            Thing = subject?.Thing?.Name,
            ClientId = clientId,
            Action = action,
            Resource = arn,
            Generation = now.Snapshot.Generation,
        };

        if (subject is null)
        {
            // Only under dry run does a connection without an identity get this far.
            var unauthenticated = record with
            {
                Enforced = false,
                Reason = now.Identity.FailureReason ?? "the credentials were refused",
                LatencyMicroseconds = Stopwatch.GetElapsedTime(started).TotalMicroseconds,
            };
            return (new Verdict(false, false, DecisionNames.Unauthenticated, unauthenticated.Reason!, id), unauthenticated);
        }

        var decision = subject.Decide(action, arn);
        var name = decision.Kind.ToAwsString();
        var reason = decision.IsAllowed
            ? DecisionReasons.AllowedBy(decision.DecidingStatement!)
            : DenyReason(subject, action, arn, decision);
        if (subject.HasShadowPolicies)
        {
            var shadow = subject.DecideShadow(action, arn)!.Value;
            record = record with
            {
                ShadowDecision = shadow.Kind.ToAwsString(),
                ShadowPolicy = shadow.DecidingStatement?.Policy.Name,
                ShadowStatement = shadow.DecidingStatement?.Label,
            };
        }

        var enforced = decision.IsAllowed || !gate.Options.DryRun;
        record = record with
        {
            Decision = name,
            Enforced = enforced,
            Policy = decision.DecidingStatement?.Policy.Name,
            Statement = decision.DecidingStatement?.Label,
            Reason = reason,
            LatencyMicroseconds = Stopwatch.GetElapsedTime(started).TotalMicroseconds,
        };
        return (new Verdict(decision.IsAllowed, enforced, name, reason, id), record);
    }

    private static string DenyReason(AuthorizationSubject subject, string action, string resource, Decision decision)
    {
        if (decision.Kind == DecisionKind.ExplicitDeny)
        {
            var statement = decision.DecidingStatement!;
            return $"{action} on {resource} is explicitly denied to {Describe(subject)} by policy {statement.Policy.Name}, statement {statement.Label}";
        }

        var reason = $"no policy of {Describe(subject)} allows {action} on {resource}";
        var missing = subject.Explain(action, resource).MissingContextValues;
        return missing.Count == 0 ? reason : $"{reason} (the policies need {string.Join(", ", missing)}, which this connection does not have)";
    }

    private static string Describe(AuthorizationSubject subject) => subject.Kind switch
    {
        PrincipalKind.Certificate => $"certificate {subject.PrincipalId}",
        _ => $"{subject.Kind} {subject.PrincipalId}",
    };

    private sealed record Cached(Verdict Verdict, DecisionRecord Record);

    /// <summary>An identity resolved against one snapshot, and the decisions made with it.</summary>
    private sealed class State(RegistrySnapshot snapshot, IdentityResult identity)
    {
        public RegistrySnapshot Snapshot { get; } = snapshot;

        public IdentityResult Identity { get; } = identity;

        public ConcurrentDictionary<(string Action, string Resource), Cached> Cache { get; } = new();
    }
}
