namespace ExtAuthz.Mqtt.Gate;

/// <summary>The gate's decision names: the Check service's, so one log and one set of metrics covers both.</summary>
public static class GateDecisions
{
    public const string Allowed = "ALLOWED";
    public const string ExplicitDeny = "EXPLICIT_DENY";
    public const string ImplicitDeny = "IMPLICIT_DENY";
    public const string Unauthenticated = "UNAUTHENTICATED";
    public const string InvalidRequest = "INVALID_REQUEST";
    public const string Unavailable = "UNAVAILABLE";
    public const string Error = "ERROR";
}
