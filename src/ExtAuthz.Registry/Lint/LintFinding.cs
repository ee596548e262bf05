using System.Text.Json.Serialization;

namespace ExtAuthz.Registry.Lint;

[JsonConverter(typeof(JsonStringEnumConverter<LintSeverity>))]
public enum LintSeverity
{
    [JsonStringEnumMemberName("error")]
    Error,

    [JsonStringEnumMemberName("warning")]
    Warning,

    [JsonStringEnumMemberName("info")]
    Info,
}

/// <summary>
/// One lint finding: where (file and 1-based line, 0 when the problem has no line), what (a stable
/// <see cref="Code"/> from <see cref="LintCodes"/>) and why. Findings about a policy name it in
/// <see cref="Policy"/> (with <see cref="Version"/> when the policy has several) and, for a statement,
/// its 0-based <see cref="Statement"/> index and <see cref="Sid"/>; the message says the same in words.
/// </summary>
public sealed record LintFinding(
    [property: JsonPropertyName("severity")] LintSeverity Severity,
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("file")] string File,
    [property: JsonPropertyName("line")] int Line,
    [property: JsonPropertyName("message")] string Message)
{
    [JsonPropertyName("policy")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Policy { get; init; }

    [JsonPropertyName("version")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Version { get; init; }

    [JsonPropertyName("statement")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Statement { get; init; }

    [JsonPropertyName("sid")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Sid { get; init; }

    /// <summary><c>file:line: severity code: message</c> (<c>file: …</c> without a line).</summary>
    public override string ToString() =>
        $"{File}{(Line > 0 ? $":{Line}" : "")}: {Severity.ToString().ToLowerInvariant()} {Code}: {Message}";
}

/// <summary>The finding codes <see cref="PolicyLinter"/> reports.</summary>
public static class LintCodes
{
    /// <summary>Error: something loading refuses (the configuration would not be used).</summary>
    public const string LoadError = "load-error";

    /// <summary>Error (IoT policy) or warning (IAM policy): Allow <c>*</c> or <c>iot:*</c> (or NotAction) on every resource, with no condition.</summary>
    public const string OverlyPermissive = "overly-permissive";

    /// <summary>Warning: Allow <c>iot:Connect</c> on <c>client/*</c> or <c>*</c> with no condition binding the client to the principal.</summary>
    public const string ConnectAnyClient = "connect-any-client";

    /// <summary>Warning: Allow <c>iot:Connect</c> on <c>client/${iot:ClientId}</c> (any client ID) without an IsAttached or thing-name binding.</summary>
    public const string UnboundClientId = "unbound-client-id";

    /// <summary>Warning: MQTT <c>+</c> or <c>#</c> in a policy resource, where they are literal characters.</summary>
    public const string MqttWildcard = "mqtt-wildcard";

    /// <summary>Error: a Deny on a topic-filter subtree that a broader allowed filter gets around, with iot:Receive on the subtree still allowed.</summary>
    public const string DenySubtree = "deny-subtree";

    /// <summary>Error: a policy variable no request can ever supply (unknown key, multi-valued key, or a key that does not exist for this policy type).</summary>
    public const string UnresolvableVariable = "unresolvable-variable";

    /// <summary>Error: <c>${…}</c> in a policy whose Version is missing or 2008-10-17, where it is literal text.</summary>
    public const string VariableWithoutVersion = "variable-without-version";

    /// <summary>Warning: a policy document over AWS's 2,048 characters (whitespace excluded).</summary>
    public const string PolicyTooLarge = "policy-too-large";

    /// <summary>Warning: more than 10 policies attached to one certificate or Cognito identity.</summary>
    public const string TooManyPolicies = "too-many-policies";

    /// <summary>Warning: more than 5 versions of one AWS IoT policy.</summary>
    public const string TooManyVersions = "too-many-versions";

    /// <summary>Info: a policy defined but attached to nothing.</summary>
    public const string UnattachedPolicy = "unattached-policy";

    /// <summary>Info: an AWS IoT policy in shadow mode (<c>shadow: true</c>): evaluated and logged, never enforced.</summary>
    public const string ShadowPolicy = "shadow-policy";
}

/// <summary>The outcome of linting configuration directories: the snapshot when it loaded, and every finding.</summary>
public sealed record LintReport(RegistrySnapshot? Snapshot, IReadOnlyList<LintFinding> Findings)
{
    public bool Loaded => Snapshot is not null;

    public int Errors => Findings.Count(f => f.Severity == LintSeverity.Error);

    public int Warnings => Findings.Count(f => f.Severity == LintSeverity.Warning);

    public int Infos => Findings.Count(f => f.Severity == LintSeverity.Info);
}
