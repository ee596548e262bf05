using ExtAuthz.Identity.Decisions;
using ExtAuthz.Policy;
using ExtAuthz.Registry;

namespace ExtAuthz.Envoy.Checking;

/// <summary>What one Check found out, filled in as it goes; the answer and the decision record are made from it.</summary>
internal sealed class CheckOutcome(string decisionId)
{
    public string DecisionId { get; } = decisionId;

    public Listener Listener { get; set; } = Listener.Mtls;

    /// <summary>True for Envoy's network filter (8883): only the status and dynamic metadata matter.</summary>
    public bool Network { get; set; }

    public string Operation { get; set; } = "Unknown";

    public string Decision { get; private set; } = DecisionNames.Error;

    /// <summary>google.rpc.Code of the answer.</summary>
    public int RpcCode { get; private set; } = RpcCodes.Internal;

    /// <summary>The HTTP status Envoy answers a denied client with.</summary>
    public int HttpStatus { get; private set; } = 500;

    public string? Reason { get; private set; }

    public AuthorizationSubject? Subject { get; set; }

    public string? CertificateId { get; set; }

    /// <summary>The things attached to the principal, comma-separated (the one the request resolved, when it resolved one).</summary>
    public string? Things { get; set; }

    public string? Action { get; set; }

    public string? Resource { get; set; }

    public Statement? DecidingStatement { get; set; }

    public string? ShadowDecision { get; set; }

    public Statement? ShadowStatement { get; set; }

    public string? SessionHandle { get; set; }

    public long Generation { get; set; }

    public bool IsAllowed => Decision == DecisionNames.Allowed;

    public void Allow(string reason) => Set(DecisionNames.Allowed, RpcCodes.Ok, 200, reason);

    public void Deny(DecisionKind kind, string reason) => Set(DecisionNames.Of(kind), RpcCodes.PermissionDenied, 403, reason);

    public void Unauthenticated(string reason) => Set(DecisionNames.Unauthenticated, RpcCodes.Unauthenticated, 401, reason);

    public void Invalid(string reason, int httpStatus = 400) => Set(DecisionNames.InvalidRequest, RpcCodes.InvalidArgument, httpStatus, reason);

    public void NotFound(string reason, int httpStatus = 404) => Set(DecisionNames.NotFound, RpcCodes.NotFound, httpStatus, reason);

    public void Unavailable(string reason) => Set(DecisionNames.Unavailable, RpcCodes.Unavailable, 503, reason);

    public void Failed(string reason) => Set(DecisionNames.Error, RpcCodes.Internal, 500, reason);

    private void Set(string decision, int rpcCode, int httpStatus, string reason)
    {
        Decision = decision;
        RpcCode = rpcCode;
        HttpStatus = httpStatus;
        Reason = reason;
    }
}

/// <summary>The google.rpc.Code values a Check answers with.</summary>
internal static class RpcCodes
{
    public const int Ok = 0;
    public const int InvalidArgument = 3;
    public const int NotFound = 5;
    public const int PermissionDenied = 7;
    public const int Internal = 13;
    public const int Unavailable = 14;
    public const int Unauthenticated = 16;
}
