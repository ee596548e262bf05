using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using ExtAuthz.Policy;

namespace ExtAuthz.Registry.TestAuthorization;

/// <summary>
/// AWS IoT's TestAuthorization, offline, against a <see cref="RegistrySnapshot"/>: resolves the principal
/// as the Check service would (certificate status, thing and thing-group policies, Cognito scope-down,
/// <c>policyNamesToAdd</c>/<c>policyNamesToSkip</c>), then explains each (action, resource) as AWS does.
/// A principal that cannot authenticate (unknown, not ACTIVE) is an error, not a result.
/// AWS has no shadow mode, so the answer is the enforced decision and keeps AWS's shape: a shadow
/// policy attached to the principal is not enforced and is not listed. Naming one in
/// <c>policyNamesToAdd</c> asks for it to be treated as attached, so for that test it is enforced.
/// </summary>
public static partial class TestAuthorizationService
{
    /// <summary>At most this many authInfos per request, as AWS allows.</summary>
    public const int MaxAuthInfos = 10;

    /// <summary>TestAuthorization's action types and the IoT actions they test.</summary>
    public static readonly IReadOnlyDictionary<string, string> ActionTypes = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["CONNECT"] = "iot:Connect",
        ["PUBLISH"] = "iot:Publish",
        ["SUBSCRIBE"] = "iot:Subscribe",
        ["RECEIVE"] = "iot:Receive",
    };

    private static readonly string[] RequestFields =
        ["principal", "cognitoIdentityPoolId", "clientId", "policyNamesToAdd", "policyNamesToSkip", "authInfos", "cognitoAuthenticated"];

    private static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        IndentSize = 2,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly JsonSerializerOptions Compact = new(Indented) { WriteIndented = false };

    [GeneratedRegex(@"^[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9a-fA-F-]{1,128}$")]
    private static partial Regex CognitoId();

    [GeneratedRegex(@"^[0-9a-f]{64}$")]
    private static partial Regex CertificateIdPattern();

    /// <summary>Parses AWS's request JSON strictly (unknown fields, duplicate keys and wrong types are errors).</summary>
    public static TestAuthorizationRequest ParseRequest(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowDuplicateProperties = false, MaxDepth = 32 });
        }
        catch (JsonException ex)
        {
            throw new TestAuthorizationException($"the request is not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new TestAuthorizationException("the request must be a JSON object with \"principal\" and \"authInfos\"");
            }

            foreach (var property in root.EnumerateObject())
            {
                if (Array.IndexOf(RequestFields, property.Name) < 0)
                {
                    var near = Array.Find(RequestFields, f => f.Equals(property.Name, StringComparison.OrdinalIgnoreCase));
                    throw new TestAuthorizationException(near is not null
                        ? $"unknown field \"{property.Name}\" (field names are case-sensitive: \"{near}\")"
                        : $"unknown field \"{property.Name}\" (expected {string.Join(", ", RequestFields)})");
                }
            }

            var authInfos = new List<AuthInfo>();
            if (root.TryGetProperty("authInfos", out var infos))
            {
                if (infos.ValueKind != JsonValueKind.Array)
                {
                    throw new TestAuthorizationException("\"authInfos\" must be an array of {\"actionType\", \"resources\"}");
                }

                var index = 0;
                foreach (var info in infos.EnumerateArray())
                {
                    authInfos.Add(ReadAuthInfo(info, $"authInfos[{index++}]"));
                }
            }

            bool? authenticated = null;
            if (root.TryGetProperty("cognitoAuthenticated", out var flag))
            {
                authenticated = flag.ValueKind switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    JsonValueKind.Null => null,
                    _ => throw new TestAuthorizationException("\"cognitoAuthenticated\" must be true or false"),
                };
            }

            return new TestAuthorizationRequest
            {
                Principal = OptionalString(root, "principal"),
                CognitoIdentityPoolId = OptionalString(root, "cognitoIdentityPoolId"),
                ClientId = OptionalString(root, "clientId"),
                PolicyNamesToAdd = StringArray(root, "policyNamesToAdd"),
                PolicyNamesToSkip = StringArray(root, "policyNamesToSkip"),
                AuthInfos = authInfos,
                CognitoAuthenticated = authenticated,
            };
        }
    }

    /// <summary>
    /// Evaluates a request; throws <see cref="TestAuthorizationException"/> when it is malformed, names
    /// an unknown policy, or its principal is refused before any policy (unknown, not ACTIVE, …).
    /// </summary>
    public static TestAuthorizationResponse Evaluate(RegistrySnapshot snapshot, TestAuthorizationRequest request)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(request);
        Validate(snapshot, request);
        var subject = Resolve(snapshot, request);
        var names = PolicyNames(snapshot);
        var results = new List<AuthResult>();
        foreach (var info in request.AuthInfos)
        {
            var action = ActionTypes[info.ActionType];
            foreach (var resource in info.Resources)
            {
                var explanation = subject.Explain(action, resource);
                results.Add(new AuthResult(
                    new AuthInfo(info.ActionType, [resource]),
                    new PolicyList(Distinct(explanation.Allowed.Select(m => m.Statement.Policy), names)),
                    new Denied(
                        new PolicyList(Distinct(explanation.ExplicitDenies.Select(m => m.Statement.Policy), names)),
                        new PolicyList(Distinct(explanation.SilentPolicies, names))),
                    explanation.Decision.ToAwsString(),
                    explanation.MissingContextValues));
            }
        }

        return new TestAuthorizationResponse(results);
    }

    /// <summary>Parses and evaluates AWS's request JSON and returns AWS's response JSON.</summary>
    public static string Run(RegistrySnapshot snapshot, string requestJson, bool indented = true) =>
        Serialize(Evaluate(snapshot, ParseRequest(requestJson)), indented);

    public static string Serialize(TestAuthorizationResponse response, bool indented = true) =>
        JsonSerializer.Serialize(response, indented ? Indented : Compact);

    private static void Validate(RegistrySnapshot snapshot, TestAuthorizationRequest request)
    {
        if (string.IsNullOrEmpty(request.Principal))
        {
            throw new TestAuthorizationException("\"principal\" is required: a certificate ARN or ID, a thing group ARN, or a Cognito identity ID (region:id)");
        }

        if (request.AuthInfos.Count is 0 or > MaxAuthInfos)
        {
            throw new TestAuthorizationException($"\"authInfos\" must hold 1 to {MaxAuthInfos} entries, not {request.AuthInfos.Count}");
        }

        for (var i = 0; i < request.AuthInfos.Count; i++)
        {
            var info = request.AuthInfos[i];
            if (info.ActionType is null || !ActionTypes.ContainsKey(info.ActionType))
            {
                throw new TestAuthorizationException($"authInfos[{i}].actionType must be one of {string.Join(", ", ActionTypes.Keys)}, not '{info.ActionType}'");
            }

            if (info.Resources is null || info.Resources.Count == 0)
            {
                throw new TestAuthorizationException($"authInfos[{i}].resources must name at least one resource ARN");
            }

            foreach (var resource in info.Resources)
            {
                if (resource is null || !resource.StartsWith("arn:", StringComparison.Ordinal) || resource.Count(c => c == ':') < 5)
                {
                    throw new TestAuthorizationException($"authInfos[{i}].resources: '{resource}' is not an ARN (e.g. {snapshot.IotArn("topic/a/b")})");
                }
            }
        }

        foreach (var (field, list) in new[] { ("policyNamesToAdd", request.PolicyNamesToAdd), ("policyNamesToSkip", request.PolicyNamesToSkip) })
        {
            foreach (var name in list)
            {
                if (!snapshot.Policies.ContainsKey(name))
                {
                    throw new TestAuthorizationException($"{field}: AWS IoT policy '{name}' is not defined in the configuration");
                }
            }
        }
    }

    private static AuthorizationSubject Resolve(RegistrySnapshot snapshot, TestAuthorizationRequest request)
    {
        var principal = request.Principal!;
        var facts = new ConnectionFacts { ClientId = request.ClientId };
        var overrides = new PolicyOverrides(request.PolicyNamesToAdd, request.PolicyNamesToSkip);
        var hasOverrides = !overrides.IsEmpty;
        Authentication authentication;
        if (principal.StartsWith("arn:", StringComparison.Ordinal))
        {
            var parts = principal.Split(':', 6);
            if (parts.Length < 6)
            {
                throw new TestAuthorizationException($"principal '{principal}' is not an ARN");
            }

            var (service, region, account, resource) = (parts[2], parts[3], parts[4], parts[5]);
            if (service == "iam")
            {
                if (account != snapshot.AccountId)
                {
                    throw Refused(principal, $"account {account} is not the configuration's account {snapshot.AccountId}");
                }

                if (hasOverrides)
                {
                    throw new TestAuthorizationException("policyNamesToAdd and policyNamesToSkip name AWS IoT policies; an IAM user or role has IAM policies only");
                }

                var iam = resource.StartsWith("user/", StringComparison.Ordinal) && snapshot.IamUsers.TryGetValue(resource[5..], out var user) ? user
                    : resource.StartsWith("role/", StringComparison.Ordinal) && snapshot.IamRoles.TryGetValue(resource[5..], out var role) ? role
                    : throw Refused(principal, "no IAM user or role with that name is configured");
                authentication = PrincipalResolver.ForIam(snapshot, iam, facts);
            }
            else if (service == "iot")
            {
                if (account != snapshot.AccountId || region != snapshot.Region)
                {
                    throw Refused(principal, $"it is in {region}/{account}; the configuration is {snapshot.Region}/{snapshot.AccountId}");
                }

                if (resource.StartsWith("cert/", StringComparison.Ordinal))
                {
                    authentication = PrincipalResolver.ForCertificateId(snapshot, resource[5..], facts, overrides);
                }
                else if (resource.StartsWith("thinggroup/", StringComparison.Ordinal))
                {
                    authentication = PrincipalResolver.ForThingGroup(snapshot, resource["thinggroup/".Length..], facts, overrides);
                }
                else
                {
                    throw new TestAuthorizationException($"principal '{principal}' must be a certificate (cert/ID) or thing group (thinggroup/NAME) ARN");
                }
            }
            else
            {
                throw new TestAuthorizationException($"principal '{principal}' is neither an AWS IoT nor an IAM ARN");
            }
        }
        else if (CertificateIdPattern().IsMatch(principal))
        {
            authentication = PrincipalResolver.ForCertificateId(snapshot, principal, facts, overrides);
        }
        else if (CognitoId().IsMatch(principal))
        {
            if (string.IsNullOrEmpty(request.CognitoIdentityPoolId))
            {
                throw new TestAuthorizationException($"principal '{principal}' is a Cognito identity ID; \"cognitoIdentityPoolId\" is required with it");
            }

            var authenticated = request.CognitoAuthenticated ?? true;
            if (!authenticated && hasOverrides)
            {
                throw new TestAuthorizationException("policyNamesToAdd and policyNamesToSkip name AWS IoT policies; an unauthenticated Cognito identity has its role's IAM policies only");
            }

            authentication = PrincipalResolver.ForCognito(snapshot, principal, request.CognitoIdentityPoolId, authenticated, facts, overrides: overrides);
        }
        else
        {
            throw new TestAuthorizationException($"principal '{principal}' is not a certificate ARN or ID, a thing group ARN, or a Cognito identity ID (region:id)");
        }

        if (request.CognitoAuthenticated is not null && !CognitoId().IsMatch(principal))
        {
            throw new TestAuthorizationException("\"cognitoAuthenticated\" applies only to a Cognito identity principal");
        }

        return authentication.Subject ?? throw Refused(principal, authentication.FailureReason ?? "it cannot authenticate");
    }

    private static TestAuthorizationException Refused(string principal, string reason) =>
        new($"principal '{principal}' is refused before any policy is evaluated: {reason}");

    /// <summary>Every policy document in the snapshot, by reference, with the name and ARN AWS reports.</summary>
    private static Dictionary<PolicyDocument, PolicyReference> PolicyNames(RegistrySnapshot snapshot)
    {
        var names = new Dictionary<PolicyDocument, PolicyReference>(ReferenceEqualityComparer.Instance);
        foreach (var policy in snapshot.Policies.Values)
        {
            foreach (var version in policy.Versions)
            {
                names.TryAdd(version.Document, new PolicyReference(policy.Name, policy.Arn));
            }
        }

        foreach (var policy in snapshot.IamPolicies.Values)
        {
            names.TryAdd(policy.Document, new PolicyReference(policy.Name, policy.Arn));
        }

        return names;
    }

    private static PolicyReference[] Distinct(IEnumerable<PolicyDocument> documents, Dictionary<PolicyDocument, PolicyReference> names) =>
        documents.Distinct(ReferenceEqualityComparer.Instance).Cast<PolicyDocument>()
            .Select(d => names.TryGetValue(d, out var known) ? known : new PolicyReference(d.Name, null))
            .ToArray();

    private static AuthInfo ReadAuthInfo(JsonElement info, string path)
    {
        if (info.ValueKind != JsonValueKind.Object)
        {
            throw new TestAuthorizationException($"{path} must be an object {{\"actionType\", \"resources\"}}");
        }

        foreach (var property in info.EnumerateObject())
        {
            if (property.Name is not "actionType" and not "resources")
            {
                throw new TestAuthorizationException($"{path}: unknown field \"{property.Name}\" (expected actionType, resources)");
            }
        }

        var actionType = OptionalString(info, "actionType", path) ?? throw new TestAuthorizationException($"{path}.actionType is required");
        if (!info.TryGetProperty("resources", out _))
        {
            throw new TestAuthorizationException($"{path}.resources is required");
        }

        return new AuthInfo(actionType, StringArray(info, "resources", path));
    }

    private static string? OptionalString(JsonElement parent, string field, string? path = null)
    {
        if (!parent.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw new TestAuthorizationException($"{(path is null ? "" : path + ".")}{field} must be a string");
    }

    private static string[] StringArray(JsonElement parent, string field, string? path = null)
    {
        var name = path is null ? $"\"{field}\"" : $"{path}.{field}";
        if (!parent.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new TestAuthorizationException($"{name} must be an array of strings");
        }

        return value.EnumerateArray()
            .Select(v => v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new TestAuthorizationException($"{name} must be an array of strings"))
            .ToArray();
    }
}
