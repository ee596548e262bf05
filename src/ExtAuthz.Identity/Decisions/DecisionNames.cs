using ExtAuthz.Policy;

namespace ExtAuthz.Identity.Decisions;

/// <summary>
/// The decisions the Check service and the MQTT gate can reach, as the decision log, the deny body and
/// the metrics name them (one set, so one log and one set of metrics covers both).
/// </summary>
public static class DecisionNames
{
    public const string Allowed = "ALLOWED";
    public const string ExplicitDeny = "EXPLICIT_DENY";
    public const string ImplicitDeny = "IMPLICIT_DENY";
    public const string Unauthenticated = "UNAUTHENTICATED";
    public const string InvalidRequest = "INVALID_REQUEST";
    public const string NotFound = "NOT_FOUND";
    public const string Unavailable = "UNAVAILABLE";
    public const string Error = "ERROR";

    public static string Of(DecisionKind kind) => kind.ToAwsString();
}
