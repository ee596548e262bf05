namespace ExtAuthz.Policy.Tests;

/// <summary>Small helpers shared by the unit tests: build a policy from statement JSON, evaluate a request.</summary>
internal static class PolicyTestKit
{
    /// <summary>The ARN prefix of the account and region the tests use.</summary>
    public const string Iot = "arn:aws:iot:us-east-1:123456789012:";

    public const string CurrentVersion = "2012-10-17";

    /// <summary>A policy document whose Statement is <paramref name="statements"/> (an object or an array, as JSON).</summary>
    public static PolicyDocument Doc(string statements, string? version = CurrentVersion, string name = "p1")
    {
        var versionElement = version is null ? "" : $"\"Version\": \"{version}\", ";
        return PolicyParser.Parse(name, $"{{{versionElement}\"Statement\": {statements}}}");
    }

    /// <summary>Builds a context from alternating key/value pairs.</summary>
    public static RequestContext Context(params string[] keysAndValues)
    {
        var context = new RequestContext();
        for (var i = 0; i < keysAndValues.Length; i += 2)
        {
            context.Set(keysAndValues[i], keysAndValues[i + 1]);
        }

        return context;
    }

    public static AuthorizationRequest Request(string action, string resource, IRequestContext? context = null) => new(action, resource, context);

    public static Decision Decide(PolicyDocument policy, string action, string resource, IRequestContext? context = null) =>
        PolicyEvaluator.Decide(PolicySet.Create(policy), Request(action, resource, context));

    /// <summary>Evaluates <paramref name="statements"/> (Version 2012-10-17) for one request and returns the decision kind.</summary>
    public static DecisionKind Decide(string statements, string action, string resource, IRequestContext? context = null, string? version = CurrentVersion) =>
        Decide(Doc(statements, version), action, resource, context).Kind;

    /// <summary>The JSON of a Condition element with one operator and one key.</summary>
    public static string ConditionJson(string op, string key, string valuesJson) => "{\"" + op + "\": {\"" + key + "\": " + valuesJson + "}}";

    /// <summary>The error raised when parsing <paramref name="json"/> under the name <paramref name="name"/>.</summary>
    public static PolicyParseException ParseError(string json, string name = "p1", PolicyLimits? limits = null) =>
        Assert.Throws<PolicyParseException>(() => PolicyParser.Parse(name, json, limits));

    /// <summary>The error raised by a policy whose Statement is <paramref name="statements"/>.</summary>
    public static PolicyParseException StatementError(string statements, string? version = CurrentVersion)
    {
        var versionElement = version is null ? "" : $"\"Version\": \"{version}\", ";
        return ParseError($"{{{versionElement}\"Statement\": {statements}}}");
    }

    /// <summary>
    /// Whether an Allow statement for iot:Publish on any resource, carrying <paramref name="condition"/>
    /// (the JSON of the Condition element), allows a request with <paramref name="context"/>.
    /// </summary>
    public static bool AllowHolds(string condition, IRequestContext? context = null) =>
        Decide($$"""{"Effect": "Allow", "Action": "iot:Publish", "Resource": "*", "Condition": {{condition}}}""", "iot:Publish", Iot + "topic/t", context)
            == DecisionKind.Allowed;

    /// <summary>Whether a Deny statement with <paramref name="condition"/> (next to an Allow for everything) denies the request.</summary>
    public static bool DenyApplies(string condition, IRequestContext? context = null) =>
        Decide($$"""
            [{"Effect": "Allow", "Action": "*", "Resource": "*"},
             {"Effect": "Deny", "Action": "iot:Publish", "Resource": "*", "Condition": {{condition}}}]
            """, "iot:Publish", Iot + "topic/t", context) == DecisionKind.ExplicitDeny;
}
