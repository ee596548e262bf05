using System.Text.Json;
using ExtAuthz.Envoy.DataPlane;

namespace ExtAuthz.Envoy.ControlPlane;

/// <summary>Where AWS reads a control-plane permission's resource when the path does not carry it (docs/control-plane.md, "Deferred resources").</summary>
public enum RequestInput
{
    /// <summary>The <c>x-amzn-principal</c> header, required: a certificate ARN (resource <c>cert/{id}</c>) or a Cognito identity ID (<c>*</c>).</summary>
    PrincipalHeader,

    /// <summary>The JSON body's <c>target</c>, required: a certificate ARN, a thing group ARN (<c>thinggroup/{name}</c>) or a Cognito identity ID.</summary>
    PolicyTarget,

    /// <summary>The JSON body's <c>thingArn</c> or <c>thingName</c>, one required (both must name the same thing): <c>thing/{name}</c>.</summary>
    Thing,

    /// <summary>The JSON body's <c>thingGroupArn</c> or <c>thingGroupName</c>, likewise: <c>thinggroup/{name}</c>.</summary>
    ThingGroup,

    /// <summary>The JSON body's <c>billingGroupName</c>, optional: <c>billinggroup/{name}</c>, and nothing more to check without it.</summary>
    BillingGroup,

    /// <summary>The JSON body's <c>principal</c>, optional: a certificate ARN, or <c>*</c> for a thing group ARN, a Cognito identity ID or none.</summary>
    TestPrincipal,
}

/// <summary>
/// A permission of a control-plane operation whose resource AWS takes from a header or the JSON body:
/// the action, and where the resource is. <see cref="Resolve"/> turns it into a <see cref="DataPlaneAccess"/>.
/// </summary>
public readonly record struct DeferredAccess(string Action, RequestInput Input)
{
    private const string PrincipalHeaderName = "x-amzn-principal";

    /// <summary>
    /// The permission to check, from the request's headers and JSON body: <paramref name="access"/> is
    /// null when an optional input is absent (nothing more to check). Returns why the request cannot be
    /// authorized (a 400: a required input missing, malformed, or naming another account's or region's
    /// resource), or null.
    /// </summary>
    /// <param name="header">The request header of that (lowercase) name, or null.</param>
    /// <param name="body">
    /// The request body's JSON root, or null when the request has none. The Envoy route must buffer the
    /// whole body (<c>with_request_body</c>, no partial bodies): a body the Check did not receive is not an
    /// absent one.
    /// </param>
    /// <param name="region">The service's AWS region, which ARNs in the request must name.</param>
    /// <param name="accountId">The service's AWS account, likewise.</param>
    /// <param name="access">The action and its resource, relative to <c>arn:aws:iot:{region}:{account}:</c>, or <c>*</c>.</param>
    public string? Resolve(Func<string, string?> header, JsonElement? body, string region, string accountId, out DataPlaneAccess? access)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(region);
        ArgumentNullException.ThrowIfNull(accountId);

        access = null;
        string? resource = null;
        string? error;
        switch (Input)
        {
            case RequestInput.PrincipalHeader:
                var principal = header(PrincipalHeaderName);
                if (string.IsNullOrEmpty(principal))
                {
                    return $"{Action} is checked on the principal in the {PrincipalHeaderName} header, and the request has none";
                }

                error = Principal(principal, "the x-amzn-principal header", region, accountId, out resource);
                break;
            case RequestInput.PolicyTarget:
                error = Field(body, "target", out var target)
                    ?? (target is null
                        ? $"{Action} is checked on the target in the JSON body, and the request has none"
                        : Principal(target, "the target", region, accountId, out resource));
                break;
            case RequestInput.Thing:
                error = Named(body, "thingArn", "thingName", "thing", NameRule.Thing, region, accountId, out resource);
                break;
            case RequestInput.ThingGroup:
                error = Named(body, "thingGroupArn", "thingGroupName", "thinggroup", NameRule.ThingGroup, region, accountId, out resource);
                break;
            case RequestInput.BillingGroup:
                error = Field(body, "billingGroupName", out var billingGroup);
                if (error is null && billingGroup is null)
                {
                    return null;
                }

                error ??= NameRule.BillingGroup.Error(billingGroup!);
                resource = "billinggroup/" + billingGroup;
                break;
            case RequestInput.TestPrincipal:
                error = Field(body, "principal", out var tested);
                resource = "*";
                if (error is null && tested is not null)
                {
                    error = Principal(tested, "the principal", region, accountId, out resource);
                }

                break;
            default:
                throw new InvalidOperationException($"no resolution for {Input}");
        }

        if (error is not null)
        {
            return error;
        }

        access = new DataPlaneAccess(Action, resource!);
        return null;
    }

    /// <summary>
    /// A principal or policy target: a certificate ARN is <c>cert/{id}</c>; a thing group ARN is
    /// <c>thinggroup/{name}</c> where the action lists that resource type (AttachPolicy, DetachPolicy) and
    /// <c>*</c> for TestAuthorization, which lists only <c>cert</c>; a Cognito identity ID is no AWS IoT
    /// resource, so <c>*</c>.
    /// </summary>
    private string? Principal(string value, string what, string region, string accountId, out string? resource)
    {
        resource = null;
        if (!value.StartsWith("arn:", StringComparison.Ordinal))
        {
            if (IsCognitoIdentityId(value))
            {
                resource = "*";
                return null;
            }

            return $"{what} '{value}' is neither a certificate ARN{(Input == RequestInput.PrincipalHeader ? "" : ", a thing group ARN")} nor a Cognito identity ID (region:id)";
        }

        if (IotArn(value, what, region, accountId, out var type, out var name) is { } bad)
        {
            return bad;
        }

        if (type == "cert")
        {
            resource = "cert/" + name;
            return NameRule.Certificate.Error(name);
        }

        if (type == "thinggroup" && Input != RequestInput.PrincipalHeader)
        {
            resource = Input == RequestInput.PolicyTarget ? "thinggroup/" + name : "*";
            return NameRule.ThingGroup.Error(name);
        }

        return $"{what} '{value}' names a {type}; it must name a certificate{(Input == RequestInput.PrincipalHeader ? "" : " or a thing group")}";
    }

    /// <summary>A thing or thing group named by its ARN field, its name field, or both (which must agree): <c>{type}/{name}</c>.</summary>
    private string? Named(JsonElement? body, string arnField, string nameField, string type, NameRule rule, string region, string accountId, out string? resource)
    {
        resource = null;
        if (Field(body, arnField, out var arn) is { } badArnField)
        {
            return badArnField;
        }

        if (Field(body, nameField, out var name) is { } badNameField)
        {
            return badNameField;
        }

        string? fromArn = null;
        if (arn is not null)
        {
            if (IotArn(arn, arnField, region, accountId, out var arnType, out fromArn) is { } badArn)
            {
                return badArn;
            }

            if (arnType != type)
            {
                return $"{arnField} '{arn}' names a {arnType}, not a {type}";
            }
        }

        var chosen = fromArn ?? name;
        if (chosen is null)
        {
            return $"{Action} is checked on the {type} ({arnField} or {nameField} in the JSON body), and the request names none";
        }

        if (fromArn is not null && name is not null && fromArn != name)
        {
            return $"{arnField} and {nameField} name different {type}s ('{fromArn}', '{name}')";
        }

        resource = type + "/" + chosen;
        return rule.Error(chosen);
    }

    /// <summary>
    /// Splits <c>arn:aws:iot:{region}:{account}:{type}/{name}</c>; an ARN in another partition, service,
    /// region or account is refused, since this service authorizes one account's AWS IoT resources.
    /// </summary>
    private static string? IotArn(string arn, string what, string region, string accountId, out string type, out string name)
    {
        type = name = "";
        var parts = arn.Split(':', 6);
        var slash = parts.Length == 6 ? parts[5].IndexOf('/', StringComparison.Ordinal) : -1;
        if (slash <= 0 || parts[0] != "arn" || parts[1] != "aws" || parts[2] != "iot")
        {
            return $"{what} '{arn}' is not an AWS IoT ARN (arn:aws:iot:{region}:{accountId}:type/name)";
        }

        if (parts[3] != region || parts[4] != accountId)
        {
            return $"{what} '{arn}' is in {parts[3]}/{parts[4]}; this service authorizes {region}/{accountId}";
        }

        type = parts[5][..slash];
        name = parts[5][(slash + 1)..];
        return null;
    }

    /// <summary>A string field of the JSON body; null when the body or the field is absent. Refused: a body that is not an object, a field that is not a string or appears twice.</summary>
    private static string? Field(JsonElement? body, string field, out string? value)
    {
        value = null;
        if (body is not { } root)
        {
            return null;
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            return $"the JSON body must be an object, not {root.ValueKind.ToString().ToLowerInvariant()}";
        }

        var found = 0;
        foreach (var property in root.EnumerateObject())
        {
            if (!property.NameEquals(field))
            {
                continue;
            }

            // Which duplicate the upstream honours is not ours to guess, and the two could name different resources.
            if (++found > 1)
            {
                return $"the JSON body's {field} appears more than once";
            }

            if (property.Value.ValueKind != JsonValueKind.String)
            {
                return $"the JSON body's {field} must be a string";
            }

            try
            {
                value = property.Value.GetString();
            }
            catch (InvalidOperationException)
            {
                // JSON can escape a lone surrogate, which no .NET string holds and no resource name contains.
                return $"the JSON body's {field} is not valid Unicode text";
            }
        }

        return null;
    }

    /// <summary>
    /// <c>{region}:{id}</c> as Amazon Cognito writes identity IDs: a region such as <c>us-east-1</c>
    /// (two letters, then lowercase words, then a number, joined by <c>-</c>) and 1–128 hexadecimal digits
    /// and hyphens.
    /// </summary>
    private static bool IsCognitoIdentityId(string value)
    {
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return false;
        }

        var id = value.AsSpan(colon + 1);
        if (id.Length is 0 or > 128)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!char.IsAsciiHexDigit(c) && c != '-')
            {
                return false;
            }
        }

        var words = value[..colon].Split('-');
        if (words.Length < 3 || words[0].Length != 2 || !words[0].All(char.IsAsciiLetterLower) || words[^1].Length == 0 || !words[^1].All(char.IsAsciiDigit))
        {
            return false;
        }

        return words[1..^1].All(word => word.Length > 0 && word.All(char.IsAsciiLetterLower));
    }
}
