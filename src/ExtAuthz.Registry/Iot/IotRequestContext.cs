using System.Collections.Frozen;
using ExtAuthz.Policy;

namespace ExtAuthz.Registry.Iot;

/// <summary>
/// The request context of one connection: a few per-connection keys answered from fields, in front of
/// the principal's cached variables (certificate, thing, Cognito or IAM keys), which are shared by
/// every connection of that principal in a snapshot. Building one costs one small allocation.
/// </summary>
internal sealed class IotRequestContext(
    FrozenDictionary<string, ContextValue> principalValues,
    FrozenDictionary<string, ContextValue>? thingValues,
    string? clientId,
    string? sourceIp,
    string? domainName,
    string[]? connectAttributes,
    string? lastWillTopicArn,
    string? isAttached) : IRequestContext
{
    public bool TryGetValue(string key, out ContextValue value)
    {
        if (key.Length > 4 && (key[0] | 0x20) == 'i' && (key[1] | 0x20) == 'o' && (key[2] | 0x20) == 't' && key[3] == ':')
        {
            var local = key.AsSpan(4);
            if (local.Equals("ClientId", StringComparison.OrdinalIgnoreCase))
            {
                return Return(clientId, out value);
            }

            if (local.Equals("DomainName", StringComparison.OrdinalIgnoreCase))
            {
                return Return(domainName, out value);
            }

            if (local.Equals("ConnectAttributes", StringComparison.OrdinalIgnoreCase))
            {
                value = connectAttributes is null ? default : new ContextValue(connectAttributes);
                return connectAttributes is not null;
            }

            if (local.Equals("LastWillTopic", StringComparison.OrdinalIgnoreCase))
            {
                return Return(lastWillTopicArn, out value);
            }

            if (local.Equals("Connection.Thing.IsAttached", StringComparison.OrdinalIgnoreCase))
            {
                return Return(isAttached, out value);
            }
        }
        else if (key.Equals("aws:SourceIp", StringComparison.OrdinalIgnoreCase))
        {
            return Return(sourceIp, out value);
        }

        if (thingValues is not null && thingValues.TryGetValue(key, out value))
        {
            return true;
        }

        return principalValues.TryGetValue(key, out value);
    }

    /// <summary>Every key with a value, for diagnostics (TestAuthorization's context echo and tests).</summary>
    public IEnumerable<KeyValuePair<string, ContextValue>> All()
    {
        foreach (var key in (string[])["iot:ClientId", "iot:DomainName", "iot:ConnectAttributes", "iot:LastWillTopic", "iot:Connection.Thing.IsAttached", "aws:SourceIp"])
        {
            if (TryGetValue(key, out var value))
            {
                yield return new(key, value);
            }
        }

        foreach (var pair in thingValues ?? FrozenDictionary<string, ContextValue>.Empty)
        {
            yield return pair;
        }

        foreach (var pair in principalValues)
        {
            yield return pair;
        }
    }

    private static bool Return(string? text, out ContextValue value)
    {
        value = text is null ? default : new ContextValue(text);
        return text is not null;
    }
}
