using ExtAuthz.Policy;

namespace ExtAuthz.Envoy.Checking;

/// <summary>A principal's context plus one key the request itself supplies (the jobs API's <c>iot:JobId</c>).</summary>
internal sealed class RequestKeyContext(IRequestContext principal, string key, string value) : IRequestContext
{
    public bool TryGetValue(string name, out ContextValue found)
    {
        if (string.Equals(name, key, StringComparison.OrdinalIgnoreCase))
        {
            found = value;
            return true;
        }

        return principal.TryGetValue(name, out found);
    }
}
