using System.Text.Json.Serialization;

namespace ExtAuthz.Registry.TestAuthorization;

/// <summary>
/// AWS IoT's TestAuthorization request, with AWS's property names. One extension:
/// <see cref="CognitoAuthenticated"/> (<c>cognitoAuthenticated</c>) says whether a Cognito identity
/// principal is tested as authenticated (the default, as AWS's TestAuthorization does: the IoT policies
/// attached to the identity scope down the pool's authenticated role) or unauthenticated (the pool's
/// unauthenticated role only).
/// </summary>
public sealed record TestAuthorizationRequest
{
    /// <summary>A certificate ARN or ID, a thing group ARN, a Cognito identity ID (<c>region:id</c>), or (extension) an IAM user or role ARN.</summary>
    [JsonPropertyName("principal")]
    public string? Principal { get; init; }

    [JsonPropertyName("cognitoIdentityPoolId")]
    public string? CognitoIdentityPoolId { get; init; }

    /// <summary>The MQTT client ID; without one the request is tested as over HTTP (no thing variables).</summary>
    [JsonPropertyName("clientId")]
    public string? ClientId { get; init; }

    [JsonPropertyName("policyNamesToAdd")]
    public IReadOnlyList<string> PolicyNamesToAdd { get; init; } = [];

    [JsonPropertyName("policyNamesToSkip")]
    public IReadOnlyList<string> PolicyNamesToSkip { get; init; } = [];

    [JsonPropertyName("authInfos")]
    public IReadOnlyList<AuthInfo> AuthInfos { get; init; } = [];

    /// <summary>Extension: test a Cognito identity as authenticated (default true) or unauthenticated.</summary>
    [JsonPropertyName("cognitoAuthenticated")]
    public bool? CognitoAuthenticated { get; init; }
}

/// <summary>An action type (<c>CONNECT</c>, <c>PUBLISH</c>, <c>SUBSCRIBE</c>, <c>RECEIVE</c>) and the resource ARNs to test it on.</summary>
public sealed record AuthInfo(
    [property: JsonPropertyName("actionType")] string ActionType,
    [property: JsonPropertyName("resources")] IReadOnlyList<string> Resources);

/// <summary>AWS's TestAuthorization response: one result per (action type, resource).</summary>
public sealed record TestAuthorizationResponse(
    [property: JsonPropertyName("authResults")] IReadOnlyList<AuthResult> AuthResults);

public sealed record AuthResult(
    [property: JsonPropertyName("authInfo")] AuthInfo AuthInfo,
    [property: JsonPropertyName("allowed")] PolicyList Allowed,
    [property: JsonPropertyName("denied")] Denied Denied,
    [property: JsonPropertyName("authDecision")] string AuthDecision,
    [property: JsonPropertyName("missingContextValues")] IReadOnlyList<string> MissingContextValues);

/// <summary>AWS's Allowed, ExplicitDeny and ImplicitDeny objects: a list of policies.</summary>
public sealed record PolicyList(
    [property: JsonPropertyName("policies")] IReadOnlyList<PolicyReference> Policies);

public sealed record Denied(
    [property: JsonPropertyName("explicitDeny")] PolicyList ExplicitDeny,
    [property: JsonPropertyName("implicitDeny")] PolicyList ImplicitDeny);

/// <summary>
/// A policy as AWS names it: an AWS IoT policy by its name and <c>arn:aws:iot:…:policy/NAME</c>, a managed
/// IAM policy by its name and <c>arn:aws:iam::ACCOUNT:policy/NAME</c>. An inline IAM policy has no ARN of
/// its own; it is named <c>OWNER/NAME</c> and <see cref="PolicyArn"/> is omitted.
/// </summary>
public sealed record PolicyReference(
    [property: JsonPropertyName("policyName")] string PolicyName,
    [property: JsonPropertyName("policyArn")][property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? PolicyArn);

/// <summary>A request TestAuthorization refuses to evaluate: malformed, or naming a principal or policy it cannot use.</summary>
public sealed class TestAuthorizationException : Exception
{
    public TestAuthorizationException()
    {
    }

    public TestAuthorizationException(string message)
        : base(message)
    {
    }

    public TestAuthorizationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
