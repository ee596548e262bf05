using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using ExtAuthz.Policy;
using ExtAuthz.Registry.Iot;
using ExtAuthz.Registry.Tests.Support;

namespace ExtAuthz.Registry.Tests.Iot;

/// <summary>ARNs of the test account (123456789012, us-east-1) and small policy builders.</summary>
internal static class Aws
{
    public const string Account = "123456789012";
    public const string Region = "us-east-1";
    public const string Prefix = "arn:aws:iot:us-east-1:123456789012:";

    public static string Client(string clientId) => Prefix + "client/" + clientId;

    public static string Topic(string topic) => Prefix + "topic/" + topic;

    public static string TopicFilter(string filter) => Prefix + "topicfilter/" + filter;

    public static string Thing(string thing) => Prefix + "thing/" + thing;

    /// <summary>A Version 2012-10-17 policy from statement objects written as JSON.</summary>
    public static string Policy(params string[] statements) =>
        $$"""{"Version": "2012-10-17", "Statement": [{{string.Join(",\n", statements)}}]}""";

    /// <summary>An Allow statement; <paramref name="condition"/> is the JSON of the Condition object, if any.</summary>
    public static string Allow(string action, string resource, string? condition = null) => Statement("Allow", action, resource, condition);

    public static string Allow(string action, string[] resources, string? condition = null) => Statement("Allow", action, resources, condition);

    public static string Deny(string action, string resource, string? condition = null) => Statement("Deny", action, resource, condition);

    public static string Deny(string action, string[] resources, string? condition = null) => Statement("Deny", action, resources, condition);

    private static string Statement(string effect, string action, object resource, string? condition) =>
        condition is null
            ? $$"""{"Effect": "{{effect}}", "Action": {{Json(action)}}, "Resource": {{JsonSerializer.Serialize(resource)}}}"""
            : $$"""{"Effect": "{{effect}}", "Action": {{Json(action)}}, "Resource": {{JsonSerializer.Serialize(resource)}}, "Condition": {{condition}}}""";

    /// <summary>
    /// A Condition object: each entry is an operator, a key and a value (a string or a string array).
    /// Entries with the same operator share its block.
    /// </summary>
    public static string Condition(params (string Operator, string Key, object Value)[] entries)
    {
        var blocks = new Dictionary<string, Dictionary<string, object>>(StringComparer.Ordinal);
        foreach (var (op, key, value) in entries)
        {
            (blocks.TryGetValue(op, out var block) ? block : blocks[op] = new(StringComparer.Ordinal))[key] = value;
        }

        return JsonSerializer.Serialize(blocks);
    }

    /// <summary>A JSON (and YAML double-quoted) string literal.</summary>
    public static string Json(string text) => JsonSerializer.Serialize(text);
}

/// <summary>A TimeProvider frozen at one instant.</summary>
internal sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}

/// <summary>
/// A registry written as real files in a temp directory (policies as *.json, PEMs under certs/, one
/// registry.yaml) and loaded with <see cref="RegistryLoader.Load"/>. <see cref="Load"/> rewrites
/// registry.yaml from what has been declared so far, so a test can change the fleet and load again.
/// </summary>
internal sealed class IotRegistry : IDisposable
{
    private readonly TempConfigDirectory directory = new();
    private readonly List<string> policies = [];
    private readonly List<string> certificates = [];
    private readonly List<string> caCertificates = [];
    private readonly List<string> thingGroups = [];
    private readonly List<string> things = [];
    private readonly List<string> attachments = [];
    private readonly List<string> raw = [];

    public string Path => directory.Path;

    /// <summary>An AWS IoT policy file, Name.json (an unreferenced *.json becomes the policy Name).</summary>
    public IotRegistry Policy(string name, string json)
    {
        directory.Write(name + ".json", json);
        return this;
    }

    /// <summary>
    /// A shadow AWS IoT policy: Name.json, declared under 'policies' with 'shadow: true'. <see cref="Clear"/>
    /// forgets the declaration but not the file, which then makes an ordinary (enforced) policy.
    /// </summary>
    public IotRegistry ShadowPolicy(string name, string json)
    {
        directory.Write(name + ".json", json);
        policies.Add($"  - name: {name}\n    file: {name}.json\n    shadow: true");
        return this;
    }

    /// <summary>Any other file (an IAM policy referenced with 'file:', for instance).</summary>
    public IotRegistry File(string relativePath, string text)
    {
        directory.Write(relativePath, text);
        return this;
    }

    public IotRegistry Certificate(string name, X509Certificate2 certificate, string status = "ACTIVE", params string[] policies)
    {
        directory.Write($"certs/{name}.pem", TestPki.ToPem(certificate));
        certificates.Add($"  - name: {name}\n    pemFile: certs/{name}.pem\n    status: {status}\n    policies: [{string.Join(", ", policies)}]");
        return this;
    }

    public IotRegistry Ca(string name, X509Certificate2 certificate, string status = "ACTIVE", bool autoRegistration = false, string? autoRegisteredStatus = null, params string[] policies)
    {
        directory.Write($"cas/{name}.pem", TestPki.ToPem(certificate));
        var item = new StringBuilder($"  - name: {name}\n    pemFile: cas/{name}.pem\n    status: {status}\n    autoRegistration: {(autoRegistration ? "true" : "false")}\n");
        if (autoRegisteredStatus is not null)
        {
            item.Append($"    autoRegisteredStatus: {autoRegisteredStatus}\n");
        }

        item.Append($"    policies: [{string.Join(", ", policies)}]");
        caCertificates.Add(item.ToString());
        return this;
    }

    public IotRegistry Group(string name, string? parent = null, params string[] policies)
    {
        thingGroups.Add($"  - name: {name}\n" + (parent is null ? "" : $"    parent: {parent}\n") + $"    policies: [{string.Join(", ", policies)}]");
        return this;
    }

    /// <summary>A thing; each principal is a certificate reference (name, ID) or a Cognito identity ID (contains ':').</summary>
    public IotRegistry Thing(string name, string? type = null, IReadOnlyDictionary<string, string>? attributes = null, IReadOnlyList<string>? groups = null,
        params (string Principal, bool Exclusive)[] principals)
    {
        var item = new StringBuilder($"  - name: {name}\n");
        if (type is not null)
        {
            item.Append($"    type: {Aws.Json(type)}\n");
        }

        if (attributes is { Count: > 0 })
        {
            item.Append("    attributes:\n");
            foreach (var (key, value) in attributes)
            {
                item.Append($"      {Aws.Json(key)}: {Aws.Json(value)}\n");
            }
        }

        item.Append($"    groups: [{string.Join(", ", groups ?? [])}]\n");
        item.Append("    principals:");
        if (principals.Length == 0)
        {
            item.Append(" []");
        }

        foreach (var (principal, exclusive) in principals)
        {
            var key = principal.Contains(':', StringComparison.Ordinal) ? "cognitoIdentity" : "certificate";
            item.Append($"\n      - {key}: {Aws.Json(principal)}\n        exclusive: {(exclusive ? "true" : "false")}");
        }

        things.Add(item.ToString());
        return this;
    }

    /// <summary>A thing attached to one certificate, non-exclusively, with no type, attributes or groups.</summary>
    public IotRegistry AttachedThing(string name, string certificate, bool exclusive = false) => Thing(name, null, null, null, (certificate, exclusive));

    /// <summary>AttachPolicy: target is certificate, thingGroup or cognitoIdentity.</summary>
    public IotRegistry Attach(string policy, string target, string value)
    {
        attachments.Add($"  - policy: {policy}\n    {target}: {Aws.Json(value)}");
        return this;
    }

    /// <summary>Top-level YAML written as is (iam:, cognito:).</summary>
    public IotRegistry Yaml(string text)
    {
        raw.Add(text.TrimEnd() + "\n");
        return this;
    }

    /// <summary>Forgets every declaration (not the files), to describe a new fleet in the same directory.</summary>
    public IotRegistry Clear()
    {
        policies.Clear();
        certificates.Clear();
        caCertificates.Clear();
        thingGroups.Clear();
        things.Clear();
        attachments.Clear();
        raw.Clear();
        return this;
    }

    public RegistrySnapshot Load(long generation = 1)
    {
        var yaml = new StringBuilder($"account: \"{Aws.Account}\"\nregion: {Aws.Region}\n");
        Section(yaml, "policies", policies);
        Section(yaml, "certificates", certificates);
        Section(yaml, "caCertificates", caCertificates);
        Section(yaml, "thingGroups", thingGroups);
        Section(yaml, "things", things);
        Section(yaml, "policyAttachments", attachments);
        foreach (var text in raw)
        {
            yaml.Append(text);
        }

        directory.Write("registry.yaml", yaml.ToString());
        return RegistryLoader.Load([directory.Path], generation);
    }

    public void Dispose() => directory.Dispose();

    private static void Section(StringBuilder yaml, string key, List<string> items)
    {
        if (items.Count > 0)
        {
            yaml.Append(key).Append(":\n");
            foreach (var item in items)
            {
                yaml.Append(item).Append('\n');
            }
        }
    }
}

/// <summary>Assertions on authentication outcomes and decisions, with the request context in every failure message.</summary>
internal static class Expect
{
    public static AuthorizationSubject Accepted(Authentication authentication)
    {
        Assert.True(authentication.Succeeded, $"refused: {authentication.FailureReason}");
        Assert.Null(authentication.FailureReason);
        return authentication.Subject!;
    }

    /// <summary>Refused before any policy: no subject, and a reason containing every fragment.</summary>
    public static string Refused(Authentication authentication, params string[] reasonFragments)
    {
        Assert.False(authentication.Succeeded, "the principal was accepted");
        Assert.Null(authentication.Subject);
        var reason = Assert.IsType<string>(authentication.FailureReason);
        foreach (var fragment in reasonFragments)
        {
            Assert.Contains(fragment, reason, StringComparison.Ordinal);
        }

        return reason;
    }

    public static Decision Allowed(AuthorizationSubject subject, string action, string resource) => Decision(subject, action, resource, DecisionKind.Allowed);

    public static Decision ImplicitDeny(AuthorizationSubject subject, string action, string resource) => Decision(subject, action, resource, DecisionKind.ImplicitDeny);

    public static Decision ExplicitDeny(AuthorizationSubject subject, string action, string resource) => Decision(subject, action, resource, DecisionKind.ExplicitDeny);

    /// <summary>Allowed, or denied either way.</summary>
    public static void Outcome(AuthorizationSubject subject, string action, string resource, bool allowed)
    {
        var decision = subject.Decide(action, resource);
        Assert.True(decision.IsAllowed == allowed, Describe(subject, action, resource, decision.Kind, allowed ? "ALLOWED" : "a deny"));
    }

    public static Decision Decision(AuthorizationSubject subject, string action, string resource, DecisionKind expected)
    {
        var decision = subject.Decide(action, resource);
        Assert.True(decision.Kind == expected, Describe(subject, action, resource, decision.Kind, expected.ToAwsString()));
        Assert.Equal(expected, subject.Explain(action, resource).Decision);
        return decision;
    }

    /// <summary>The shadow decision (the subject must have shadow policies), checked against its explanation.</summary>
    public static Decision Shadow(AuthorizationSubject subject, string action, string resource, DecisionKind expected)
    {
        var decision = subject.DecideShadow(action, resource);
        Assert.True(decision is not null, $"{action} on {resource}: the subject has no shadow policies");
        Assert.True(decision.Value.Kind == expected, $"{action} on {resource}: expected a shadow {expected.ToAwsString()}, got {decision.Value.Kind.ToAwsString()}");
        Assert.Equal(expected, subject.ExplainShadow(action, resource)?.Decision);
        return decision.Value;
    }

    /// <summary>No shadow policy reaches the subject: nothing to decide in shadow.</summary>
    public static void NoShadow(AuthorizationSubject subject, string action, string resource)
    {
        Assert.False(subject.HasShadowPolicies);
        Assert.Null(subject.ShadowPolicies);
        Assert.Null(subject.ShadowScopedBoundary);
        Assert.Null(subject.DecideShadow(action, resource));
        Assert.Null(subject.ExplainShadow(action, resource));
    }

    /// <summary>The names of a policy set's policies, in order.</summary>
    public static string[] Names(PolicySet? set) => Assert.IsType<PolicySet>(set).Policies.Select(p => p.Name).ToArray();

    /// <summary>The policy whose statement decided, for an allow or explicit deny.</summary>
    public static string DecidingPolicy(Decision decision) => Assert.IsType<Statement>(decision.DecidingStatement).Policy.Name;

    /// <summary>The context the subject carries, one key per line (for failure messages and key-presence checks).</summary>
    public static IReadOnlyDictionary<string, ContextValue> Context(AuthorizationSubject subject) =>
        ((IotRequestContext)subject.Context).All().ToDictionary(p => p.Key, p => p.Value, StringComparer.OrdinalIgnoreCase);

    private static string Describe(AuthorizationSubject subject, string action, string resource, DecisionKind actual, string expected)
    {
        var explanation = subject.Explain(action, resource);
        var context = string.Join("\n  ", Context(subject).Select(p => $"{p.Key} = [{string.Join(", ", Enumerable.Range(0, p.Value.Count).Select(i => p.Value[i]))}]"));
        return $"{action} on {resource}: expected {expected}, got {actual.ToAwsString()}; missing context values: [{string.Join(", ", explanation.MissingContextValues)}]; context:\n  {context}";
    }
}
