using System.Diagnostics;
using Envoy.Service.Auth.V3;
using ExtAuthz.Envoy.ControlPlane;
using ExtAuthz.Envoy.DataPlane;
using ExtAuthz.Envoy.Observability;
using ExtAuthz.Identity;
using ExtAuthz.Identity.Decisions;
using ExtAuthz.Identity.SigV4;
using ExtAuthz.Policy;
using ExtAuthz.Registry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ExtAuthz.Envoy.Checking;

/// <summary>
/// The Check itself, apart from gRPC: a CheckRequest as Envoy builds it becomes identity, then
/// (actions, resources, context), then a decision, then a CheckResponse. Reads the configuration
/// snapshot in effect without locks; never throws (a bug is answered as a deny with status 500 and
/// logged); every decision is handed to <see cref="DecisionObserved"/> (the decision log and the metrics).
/// </summary>
public sealed partial class CheckHandler
{
    private const string XfccHeader = "x-forwarded-client-cert";
    private const string WebSocketUpgrade = "WebSocketUpgrade";

    private readonly Func<RegistrySnapshot?> snapshots;
    private readonly CheckHandlerOptions options;
    private readonly Action<DecisionRecord>? observe;
    private readonly ILogger logger;
    private readonly DecisionIds ids = new();

    public CheckHandler(Func<RegistrySnapshot?> snapshots, CheckHandlerOptions? options = null, Action<DecisionRecord>? decisionObserved = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(snapshots);
        this.snapshots = snapshots;
        this.options = options ?? new CheckHandlerOptions();
        observe = decisionObserved;
        this.logger = logger ?? NullLogger.Instance;
    }

    public CheckHandlerOptions Options => options;

    /// <summary>Decides one CheckRequest and answers it as a CheckResponse message; never throws.</summary>
    public CheckResponse Check(CheckRequest? request) => Answer(request).ToResponse();

    /// <summary>Decides one CheckRequest and answers it; never throws.</summary>
    public CheckAnswer Answer(CheckRequest? request) => Answer(request, null);

    /// <summary>Decides one CheckRequest as gRPC received it, materializing it only if the Check reads more than <see cref="ReceivedCheck.Parse"/> read; never throws.</summary>
    public CheckAnswer Answer(ReceivedCheck received)
    {
        ArgumentNullException.ThrowIfNull(received);
        return Answer(received.Request, received);
    }

    private CheckAnswer Answer(CheckRequest? request, ReceivedCheck? received)
    {
        var started = Stopwatch.GetTimestamp();
        var outcome = new CheckOutcome(ids.Next());
        try
        {
            Decide(request, received, outcome);
        }
#pragma warning disable CA1031 // A Check must answer whatever goes wrong; the bug is logged and the request denied.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogCheckFailed(logger, ex, outcome.DecisionId);
            outcome.Failed($"internal error while deciding (decision {outcome.DecisionId}); the request is denied");
        }

        var answer = new CheckAnswer(outcome, options.DryRun);
        observe?.Invoke(Record(outcome, Stopwatch.GetElapsedTime(started)));
        return answer;
    }

    private void Decide(CheckRequest? request, ReceivedCheck? received, CheckOutcome outcome)
    {
        if (received?.ParseError is { } unreadable)
        {
            outcome.Invalid($"the CheckRequest is not valid protobuf: {unreadable}");
            return;
        }

        var attributes = request?.Attributes;
        var http = attributes?.Request?.Http;
        outcome.Network = attributes is not null && http is null;
        if (attributes is null)
        {
            outcome.Invalid("the CheckRequest has no attributes (Envoy always sends them)");
            return;
        }

        // The route's plane hint, read once: ReceivedCheck.Parse reads the context extensions exactly as the whole parse does.
        var plane = attributes.ContextExtensions.TryGetValue(ContextExtensionKeys.Plane, out var hint) ? hint : null;
        if (received is { IsWhole: false } && !DecidedFromFieldsRead(attributes, http, plane, received) && !TryMaterialize(received, outcome))
        {
            return;
        }

        if (!TryListener(attributes, http, outcome))
        {
            return;
        }

        outcome.Operation = outcome.Network ? "Connection" : "Unknown";
        var snapshot = snapshots();
        if (snapshot is null)
        {
            outcome.Unavailable("no configuration has loaded yet; every request is refused until one does");
            return;
        }

        outcome.Generation = snapshot.Generation;
        var controlPlane = false;
        if (plane is not null && plane != ContextExtensionKeys.DataPlane)
        {
            if (plane != ContextExtensionKeys.ControlPlane || outcome.Network)
            {
                outcome.Invalid(outcome.Network
                    ? "a connection check (no HTTP request) carries the context extension plane; only HTTP routes have a plane"
                    : $"the route's context extension plane=\"{plane}\" is neither \"data\" nor \"control\" (a mistake in the Envoy configuration)");
                return;
            }

            controlPlane = true;
        }

        var facts = new ConnectionFacts
        {
            SourceIp = EnvoyAttributes.SourceIp(attributes),
            DomainName = EnvoyAttributes.DomainName(attributes, http),
        };

        // :method and :path are read once: credentials (SigV4 signs them) and routing both need them.
        var line = http is null ? default : EnvoyAttributes.RequestLine(http);
        var identity = Authenticate(snapshot, attributes, received, http, line, facts, outcome.Listener);
        outcome.CertificateId = identity.CredentialId;
        if (!identity.Succeeded)
        {
            outcome.Unauthenticated(identity.FailureReason ?? "the credentials were refused");
            return;
        }

        var subject = identity.Subject!;
        outcome.Subject = subject;
        outcome.Things = AttachedThings(subject);
        if (outcome.Network)
        {
            // 8883: the connection is let through with its principal; the MQTT gate checks each packet.
            outcome.Allow($"{Describe(subject)} is registered and ACTIVE; each MQTT packet is checked by the MQTT gate");
            return;
        }

        if (controlPlane)
        {
            DecideControlPlane(http!, line, subject, outcome);
            return;
        }

        DecideHttp(http!, line, facts, subject, received, outcome);
    }

    /// <summary>
    /// Whether the Check reads only the fields <see cref="ReceivedCheck.Parse"/> reads until its route is
    /// known: a client certificate (so no XFCC, credential headers or principal), and for HTTP a data-plane
    /// request with Envoy's method and path fields (so no pseudo-headers) and the SNI or host (so no
    /// <c>:authority</c>). Only the WebSocket upgrade then reads more, and materializes the request first.
    /// </summary>
    private static bool DecidedFromFieldsRead(AttributeContext attributes, AttributeContext.Types.HttpRequest? http, string? plane, ReceivedCheck received) =>
        !received.Certificate.IsEmpty
        && (http is null
            || (!string.IsNullOrEmpty(http.Method) && !string.IsNullOrEmpty(http.Path)
                && (!string.IsNullOrEmpty(attributes.TlsSession?.Sni) || !string.IsNullOrEmpty(http.Host))
                && (plane is null || plane == ContextExtensionKeys.DataPlane)));

    private static bool TryMaterialize(ReceivedCheck received, CheckOutcome outcome)
    {
        if (received.Materialize() is not { } error)
        {
            return true;
        }

        outcome.Invalid($"the CheckRequest is not valid protobuf: {error}");
        return false;
    }

    private bool TryListener(AttributeContext attributes, AttributeContext.Types.HttpRequest? http, CheckOutcome outcome)
    {
        if (attributes.ContextExtensions.TryGetValue(ContextExtensionKeys.Port, out var port))
        {
            if (!uint.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number)
                || ListenerNames.FromPort(number) is not { } named)
            {
                outcome.Invalid($"the route's context extension port=\"{port}\" is not 8883, 443 or 8443 (a mistake in the Envoy configuration)");
                return false;
            }

            outcome.Listener = named;
        }
        else
        {
            outcome.Listener = http is null ? Listener.Mqtt
                : EnvoyAttributes.DestinationPort(attributes) is { } destination && ListenerNames.FromPort(destination) is { } byPort ? byPort
                : Listener.Mtls;
        }

        if (http is null && outcome.Listener != Listener.Mqtt)
        {
            outcome.Invalid($"a connection check (no HTTP request) arrived for the {outcome.Listener.Name()} listener; only 8883 uses Envoy's network ext_authz filter");
            return false;
        }

        if (http is not null && outcome.Listener == Listener.Mqtt)
        {
            outcome.Invalid("an HTTP check arrived for the 8883 MQTT listener, which Envoy checks per connection with the network ext_authz filter");
            return false;
        }

        return true;
    }

    private IdentityResult Authenticate(RegistrySnapshot snapshot, AttributeContext attributes, ReceivedCheck? received, AttributeContext.Types.HttpRequest? http,
        RequestLine line, ConnectionFacts facts, Listener listener)
    {
        if (received is not null && !received.Certificate.IsEmpty)
        {
            return X509CertificateIdentity.FromEnvoyCertificate(snapshot, received.Certificate, facts, options.Time);
        }

        var certificate = attributes.Source?.Certificate;
        if (!string.IsNullOrEmpty(certificate))
        {
            return X509CertificateIdentity.FromEnvoyCertificate(snapshot, certificate, facts, options.Time);
        }

        if (http is not null)
        {
            var forwarded = EnvoyAttributes.Header(http, XfccHeader, out var count, out var invalidUtf8);
            if (forwarded is not null)
            {
                if (!attributes.ContextExtensions.TryGetValue(ContextExtensionKeys.Xfcc, out var trust) || trust != ContextExtensionKeys.XfccTrusted)
                {
                    return IdentityResult.Fail(IdentityFailure.Missing,
                        "no client certificate, and the x-forwarded-client-cert header is not trusted on this route (set the context extension xfcc: trusted where Envoy writes it with forward_client_cert_details: SANITIZE_SET)");
                }

                if (count > 1 || invalidUtf8)
                {
                    return IdentityResult.Fail(IdentityFailure.Malformed, count > 1
                        ? $"{count} x-forwarded-client-cert headers; SANITIZE_SET writes exactly one"
                        : "the x-forwarded-client-cert header is not valid UTF-8");
                }

                return X509CertificateIdentity.FromForwardedClientCert(snapshot, forwarded, facts, options.Time);
            }
        }

        if (http is not null && listener == Listener.Https && TryCredentials(snapshot, http, line, facts) is { } fromHeaders)
        {
            return fromHeaders;
        }

        var principal = attributes.Source?.Principal;
        if (!string.IsNullOrEmpty(principal))
        {
            return IdentityResult.Fail(IdentityFailure.Missing,
                $"Envoy sent the client's principal ({principal}) but not its certificate: set include_peer_certificate: true on the ext_authz filter");
        }

        return IdentityResult.Fail(IdentityFailure.Missing, listener == Listener.Https
            ? "no credentials: send a client certificate, a Cognito token (Authorization: Bearer), or a SigV4 signature"
            : "no client certificate was presented (the listener must require one, and the ext_authz filter must set include_peer_certificate: true)");
    }

    /// <summary>On 443: a Cognito or federated bearer token, else a SigV4 signature (header or presigned URL); null when neither is present.</summary>
    private IdentityResult? TryCredentials(RegistrySnapshot snapshot, AttributeContext.Types.HttpRequest http, RequestLine line, ConnectionFacts facts)
    {
        if (HttpCredentials.BearerToken(http, line.Path, options.TokenQueryParameter) is { } token)
        {
            return options.Tokens is { } tokens
                ? tokens.Verify(snapshot, token, facts)
                : IdentityResult.Fail(IdentityFailure.Unregistered, "bearer tokens are not accepted by this service (no token verifier is configured)");
        }

        var signed = HttpCredentials.Signed(http, line.Method, line.Path);
        if (SigV4Verifier.IsSigV4(signed))
        {
            return options.Signatures is { } signatures
                ? signatures.Verify(snapshot, signed, facts)
                : IdentityResult.Fail(IdentityFailure.Unregistered, "SigV4 signatures are not accepted by this service (no SigV4 verifier is configured)");
        }

        return null;
    }

    private void DecideHttp(AttributeContext.Types.HttpRequest http, RequestLine line, ConnectionFacts facts, AuthorizationSubject subject, ReceivedCheck? received,
        CheckOutcome outcome)
    {
        if (!TryRoute(line, outcome, HttpDataPlane.Match, out var route))
        {
            return;
        }

        if (route.Operation == WebSocketUpgrade)
        {
            if (received is null || TryMaterialize(received, outcome))
            {
                Upgrade(http, facts, subject, outcome);
            }

            return;
        }

        // The jobs API's job ID is a condition key (iot:JobId) of the request, not of the principal.
        var context = route.JobId is { } jobId ? new RequestKeyContext(subject.Context, "iot:JobId", jobId) : null;
        DecidePermissions(route.Permissions, subject, context, outcome);
    }

    /// <summary>
    /// The control plane (route hint <c>plane: control</c>): AWS IoT's management API, decided with IAM
    /// policies. Some operations name their resource in a header or the JSON body (AttachPolicy's
    /// target, AttachThingPrincipal's principal), which the route leaves to be read here.
    /// </summary>
    private void DecideControlPlane(AttributeContext.Types.HttpRequest http, RequestLine line, AuthorizationSubject subject, CheckOutcome outcome)
    {
        if (subject.Kind == PrincipalKind.Certificate)
        {
            outcome.Unauthenticated("the control plane takes IAM (SigV4) or Cognito identities; X.509 certificates are for the data plane");
            return;
        }

        if (!TryRoute(line, outcome, ControlPlaneRoutes.Match, out var route))
        {
            return;
        }

        var permissions = new List<DataPlaneAccess>(route.Permissions);
        if (route.Deferred.Count > 0)
        {
            using var body = RequestBody.Json(http, out var bodyError);
            if (bodyError is not null)
            {
                outcome.Invalid(bodyError);
                return;
            }

            foreach (var deferred in route.Deferred)
            {
                var error = deferred.Resolve(name => EnvoyAttributes.Header(http, name, out _, out _), body?.RootElement,
                    subject.Snapshot.Region, subject.Snapshot.AccountId, out var access);
                if (error is not null)
                {
                    outcome.Action = deferred.Action;
                    outcome.Invalid(error);
                    return;
                }

                if (access is { } resolved)
                {
                    permissions.Add(resolved);
                }
            }
        }

        DecidePermissions(permissions, subject, null, outcome);
    }

    private bool TryRoute(RequestLine line, CheckOutcome outcome, Func<string, string, DataPlaneRoute> match, out DataPlaneRoute route)
    {
        route = default;
        var (method, path) = line;
        if (string.IsNullOrEmpty(method) || string.IsNullOrEmpty(path))
        {
            outcome.Invalid(string.IsNullOrEmpty(method) ? "the HTTP request has no method" : "the HTTP request has no path");
            return false;
        }

        if (path.Length > options.MaxPathLength)
        {
            outcome.Invalid($"the request path is {path.Length} characters long; at most {options.MaxPathLength} are accepted", 414);
            return false;
        }

        route = match(method, path);
        if (!route.IsOperation)
        {
            if (route.HttpStatus == 400)
            {
                outcome.Invalid(route.Reason!);
            }
            else
            {
                outcome.NotFound(route.Reason!, route.HttpStatus);
            }

            return false;
        }

        outcome.Operation = route.Operation;
        return true;
    }

    /// <summary>Every permission must be allowed; the first refused one is the answer, else the first allowed one's statement.</summary>
    private static void DecidePermissions(IReadOnlyList<DataPlaneAccess> permissions, AuthorizationSubject subject, IRequestContext? context, CheckOutcome outcome)
    {
        Statement? firstAllow = null;
        foreach (var permission in permissions)
        {
            var resource = permission.Resource == "*" ? "*" : subject.Snapshot.IotArn(permission.Resource);
            var decision = subject.Decide(permission.Action, resource, context);
            if (subject.HasShadowPolicies && outcome.ShadowDecision is null or DecisionNames.Allowed)
            {
                var shadow = subject.DecideShadow(permission.Action, resource, context)!.Value;
                outcome.ShadowDecision = DecisionNames.Of(shadow.Kind);
                outcome.ShadowStatement = shadow.DecidingStatement;
            }

            if (!decision.IsAllowed)
            {
                // The first permission refused is the one the client needs to know about.
                outcome.Action = permission.Action;
                outcome.Resource = resource;
                outcome.DecidingStatement = decision.DecidingStatement;
                outcome.Deny(decision.Kind, DenyReason(subject, permission.Action, resource, decision, context));
                return;
            }

            if (firstAllow is null)
            {
                outcome.Action = permission.Action;
                outcome.Resource = resource;
                firstAllow = decision.DecidingStatement;
            }
        }

        outcome.DecidingStatement = firstAllow;
        outcome.Allow(DecisionReasons.AllowedBy(firstAllow!));
    }

    private void Upgrade(AttributeContext.Types.HttpRequest http, ConnectionFacts facts, AuthorizationSubject subject, CheckOutcome outcome)
    {
        var upgrade = EnvoyAttributes.Header(http, "upgrade", out _, out _);
        if (upgrade is null || !upgrade.Split(',').Any(token => token.Trim().Equals("websocket", StringComparison.OrdinalIgnoreCase)))
        {
            outcome.Invalid("GET /mqtt is the MQTT-over-WebSocket upgrade, and this request has no upgrade: websocket header");
            return;
        }

        if (options.Sessions is null)
        {
            outcome.NotFound("MQTT over WebSocket is not enabled on this service (no session key for the MQTT gate)");
            return;
        }

        // A Cognito identity's roles come from its pool, which the gate must know to resolve it again.
        var pool = subject.Kind is PrincipalKind.CognitoAuthenticated or PrincipalKind.CognitoUnauthenticated
            && subject.Context.TryGetValue("cognito-identity.amazonaws.com:aud", out var audience) ? audience.Single : null;
        outcome.SessionHandle = options.Sessions.Issue(subject.Kind.Name(), subject.PrincipalId, facts.SourceIp, facts.DomainName, pool);
        outcome.Allow($"{Describe(subject)} may open an MQTT-over-WebSocket session; iot:Connect and each packet are checked by the MQTT gate");
    }

    private static string DenyReason(AuthorizationSubject subject, string action, string resource, Decision decision, IRequestContext? context)
    {
        if (decision.Kind == DecisionKind.ExplicitDeny)
        {
            var statement = decision.DecidingStatement!;
            return $"{action} on {resource} is explicitly denied to {Describe(subject)} by policy {statement.Policy.Name}, statement {statement.Label}";
        }

        var reason = $"no policy of {Describe(subject)} allows {action} on {resource}";
        var missing = subject.Explain(action, resource, context).MissingContextValues;
        return missing.Count == 0 ? reason : $"{reason} (the policies need {string.Join(", ", missing)}, which this request does not have)";
    }

    private static string Describe(AuthorizationSubject subject) => subject.Kind switch
    {
        PrincipalKind.Certificate => $"certificate {subject.PrincipalId}",
        _ => $"{subject.Kind} {subject.PrincipalId}",
    };

    /// <summary>
    /// The thing the request resolved (MQTT, by client ID), else every thing attached to the principal:
    /// over HTTP and on 8883's connection check there is no client ID, yet upstreams and the access log
    /// want to know which device this is.
    /// </summary>
    private static string? AttachedThings(AuthorizationSubject subject)
    {
        if (subject.Thing is { } resolved)
        {
            return resolved.Name;
        }

        if (!subject.Snapshot.ThingsByPrincipal.TryGetValue(subject.PrincipalId, out var attachments) || attachments.Count == 0)
        {
            return null;
        }

        return attachments.Count == 1 ? attachments[0].Thing.Name : string.Join(',', attachments.Select(a => a.Thing.Name));
    }

    private DecisionRecord Record(CheckOutcome outcome, TimeSpan elapsed) => new()
    {
        Time = options.Time.GetUtcNow(),
        DecisionId = outcome.DecisionId,
        Listener = outcome.Listener.Name(),
        Operation = outcome.Operation,
        Decision = outcome.Decision,
        Enforced = !options.DryRun || outcome.IsAllowed,
        PrincipalKind = outcome.Subject?.Kind.Name(),
        Principal = outcome.Subject?.PrincipalId ?? outcome.CertificateId,
        CertificateId = outcome.CertificateId,
        Thing = outcome.Things,
        Action = outcome.Action,
        Resource = outcome.Resource,
        Policy = outcome.DecidingStatement?.Policy.Name,
        Statement = outcome.DecidingStatement?.Label,
        Reason = outcome.Reason,
        ShadowDecision = outcome.ShadowDecision,
        ShadowPolicy = outcome.ShadowStatement?.Policy.Name,
        ShadowStatement = outcome.ShadowStatement?.Label,
        Generation = outcome.Generation,
        LatencyMicroseconds = elapsed.TotalMicroseconds,
    };

    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "Check {DecisionId} failed; the request was denied")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception, string decisionId);
}
