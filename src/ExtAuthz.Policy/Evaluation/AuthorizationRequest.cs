using ExtAuthz.Policy.Matching;

namespace ExtAuthz.Policy;

/// <summary>What is asked: an action on a resource ARN, with the request context. The ARN is split
/// once here so that every statement reuses the split.</summary>
public readonly struct AuthorizationRequest
{
    public AuthorizationRequest(string action, string resource, IRequestContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(action);
        ArgumentNullException.ThrowIfNull(resource);
        Action = action;
        Arn = new ArnView(resource);
        Context = context ?? RequestContext.Empty;
    }

    public string Action { get; }

    public string Resource => Arn.Value;

    public IRequestContext Context { get; }

    internal ArnView Arn { get; }
}
