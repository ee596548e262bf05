using System.Globalization;
using ExtAuthz.Policy.Conditions;
using ExtAuthz.Policy.Matching;
using ExtAuthz.Policy.Parsing;

namespace ExtAuthz.Policy;

/// <summary>
/// Parses an AWS IoT or IAM identity policy document, validates it as AWS does and compiles it.
/// Every refusal is a <see cref="PolicyParseException"/> naming the policy, the JSON path, the line and
/// column, and the reason; nothing else escapes.
/// </summary>
public static class PolicyParser
{
    /// <summary>The version under which policy variables are substituted.</summary>
    public const string CurrentVersion = "2012-10-17";

    public const string LegacyVersion = "2008-10-17";

    private static readonly string[] StatementElements = ["Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"];
    private static readonly string[] DocumentElements = ["Version", "Id", "Statement"];

    public static PolicyDocument Parse(string name, string json, PolicyLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(json);
        limits ??= PolicyLimits.Default;
        if (json.Length > limits.MaxDocumentLength)
        {
            throw new PolicyParseException(name, "", 0, 0, $"the document has {json.Length} characters; the limit is {limits.MaxDocumentLength}");
        }

        var tree = JsonTree.Parse(name, json, limits.MaxDepth);
        return new Compiler(name, tree, limits).Compile(json);
    }

    /// <summary>Like <see cref="Parse"/>, returning the error instead of throwing it.</summary>
    public static bool TryParse(string name, string json, out PolicyDocument? policy, out PolicyParseException? error, PolicyLimits? limits = null)
    {
        try
        {
            policy = Parse(name, json, limits);
            error = null;
            return true;
        }
        catch (PolicyParseException ex)
        {
            policy = null;
            error = ex;
            return false;
        }
    }

    private sealed class Compiler(string name, JsonTree tree, PolicyLimits limits)
    {
        private bool variables;

        public PolicyDocument Compile(string text)
        {
            var root = tree.Root;
            if (root.Kind != JsonKind.Object)
            {
                throw Error("", root, $"a policy document must be a JSON object, not {root.KindName}");
            }

            CheckElements(root, "", DocumentElements, "policy");
            string? version = null;
            string? id = null;
            JsonNode? statementNode = null;
            foreach (var (key, _, value) in root.Properties!)
            {
                switch (key)
                {
                    case "Version":
                        version = RequireString(value, "Version");
                        if (version is not CurrentVersion and not LegacyVersion)
                        {
                            throw Error("Version", value, $"unsupported Version '{version}' (use {CurrentVersion}, or {LegacyVersion} without policy variables)");
                        }

                        break;
                    case "Id":
                        id = RequireString(value, "Id");
                        break;
                    case "Statement":
                        statementNode = value;
                        break;
                }
            }

            if (statementNode is null)
            {
                throw Error("", root, "the document has no Statement");
            }

            variables = version == CurrentVersion;
            var statements = new List<Statement>();
            if (statementNode.Kind == JsonKind.Object)
            {
                statements.Add(CompileStatement(statementNode, "Statement", 0));
            }
            else if (statementNode.Kind == JsonKind.Array)
            {
                if (statementNode.Items!.Count == 0)
                {
                    throw Error("Statement", statementNode, "Statement is empty; a policy needs at least one statement");
                }

                if (statementNode.Items.Count > limits.MaxStatements)
                {
                    throw Error("Statement", statementNode, $"{statementNode.Items.Count} statements; the limit is {limits.MaxStatements}");
                }

                for (var i = 0; i < statementNode.Items.Count; i++)
                {
                    statements.Add(CompileStatement(statementNode.Items[i], $"Statement[{i}]", i));
                }
            }
            else
            {
                throw Error("Statement", statementNode, $"Statement must be an object or an array of objects, not {statementNode.KindName}");
            }

            return new PolicyDocument(name, version, id, [.. statements], text);
        }

        private Statement CompileStatement(JsonNode node, string path, int index)
        {
            if (node.Kind != JsonKind.Object)
            {
                throw Error(path, node, $"a statement must be an object, not {node.KindName}");
            }

            CheckElements(node, path, StatementElements, "statement");
            string? sid = null;
            Effect? effect = null;
            (JsonNode Node, string Key)? action = null, resource = null;
            JsonNode? condition = null;
            foreach (var (key, keyOffset, value) in node.Properties!)
            {
                var at = $"{path}.{key}";
                switch (key)
                {
                    case "Sid":
                        sid = RequireString(value, at);
                        break;
                    case "Effect":
                        effect = RequireString(value, at) switch
                        {
                            "Allow" => Effect.Allow,
                            "Deny" => Effect.Deny,
                            var other => throw Error(at, value, $"Effect must be \"Allow\" or \"Deny\" (case-sensitive), not \"{other}\""),
                        };
                        break;
                    case "Action" or "NotAction":
                        if (action is not null)
                        {
                            throw ErrorAt(at, keyOffset, "a statement has either Action or NotAction, not both");
                        }

                        action = (value, key);
                        break;
                    case "Resource" or "NotResource":
                        if (resource is not null)
                        {
                            throw ErrorAt(at, keyOffset, "a statement has either Resource or NotResource, not both");
                        }

                        resource = (value, key);
                        break;
                    case "Condition":
                        condition = value;
                        break;
                }
            }

            if (effect is null)
            {
                throw Error(path, node, "the statement has no Effect");
            }

            if (action is null)
            {
                throw Error(path, node, "the statement has neither Action nor NotAction");
            }

            if (resource is null)
            {
                throw Error(path, node, "the statement has neither Resource nor NotResource (identity and IoT policies need one)");
            }

            var actionPath = $"{path}.{action.Value.Key}";
            var actions = StringList(action.Value.Node, actionPath)
                .Select(a => CompileAction(a.Text, a.Path, a.Node))
                .ToArray();
            var resourcePath = $"{path}.{resource.Value.Key}";
            var resources = StringList(resource.Value.Node, resourcePath)
                .Select(r => CompileResource(r.Text, r.Path, r.Node))
                .ToArray();
            var conditions = condition is null ? [] : CompileConditions(condition, $"{path}.Condition");
            return new Statement(index, sid, effect.Value, actions, action.Value.Key == "NotAction", resources, resource.Value.Key == "NotResource", conditions);
        }

        private ActionPattern CompileAction(string text, string path, JsonNode node)
        {
            if (text == "*")
            {
                return new ActionPattern(text);
            }

            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || colon == text.Length - 1)
            {
                throw Error(path, node, $"action '{text}' must be '*' or service:action, e.g. iot:Publish");
            }

            foreach (var c in text.AsSpan(0, colon))
            {
                if (!char.IsAsciiLetterOrDigit(c) && c != '-')
                {
                    throw Error(path, node, $"action '{text}': the service prefix '{text[..colon]}' may hold only letters, digits and '-' (no wildcards)");
                }
            }

            return new ActionPattern(text);
        }

        private ArnPattern CompileResource(string text, string path, JsonNode node)
        {
            if (text != "*" && !new ArnView(text).IsArn)
            {
                throw Error(path, node, $"resource '{text}' must be '*' or an ARN (arn:partition:service:region:account-id:resource)");
            }

            return Compile(path, node, () => ArnPattern.Parse(text, variables));
        }

        private Condition[] CompileConditions(JsonNode node, string path)
        {
            if (node.Kind != JsonKind.Object)
            {
                throw Error(path, node, $"Condition must be an object of operators, not {node.KindName}");
            }

            var conditions = new List<Condition>();
            foreach (var (operatorName, operatorOffset, block) in node.Properties!)
            {
                var operatorPath = $"{path}.{operatorName}";
                var (op, qualifier, ifExists) = ParseOperator(operatorName, operatorPath, operatorOffset);
                if (block.Kind != JsonKind.Object)
                {
                    throw Error(operatorPath, block, $"{operatorName} must map condition keys to values, not be {block.KindName}");
                }

                if (block.Properties!.Count == 0)
                {
                    throw Error(operatorPath, block, $"{operatorName} names no condition key");
                }

                foreach (var (key, _, valueNode) in block.Properties)
                {
                    var keyPath = $"{operatorPath}.{key}";
                    if (key.Length == 0)
                    {
                        throw Error(keyPath, valueNode, "empty condition key");
                    }

                    if (conditions.Count >= limits.MaxConditionKeys)
                    {
                        throw Error(keyPath, valueNode, $"more than {limits.MaxConditionKeys} condition keys in one statement");
                    }

                    var values = ConditionValueList(valueNode, keyPath, qualifier != SetQualifier.None);
                    conditions.Add(new Condition(operatorName, op, qualifier, ifExists, key, CompileValues(op, values)));
                }
            }

            return [.. conditions];
        }

        private (ConditionOperator Op, SetQualifier Qualifier, bool IfExists) ParseOperator(string text, string path, long offset)
        {
            var rest = text;
            var qualifier = SetQualifier.None;
            if (rest.StartsWith("ForAllValues:", StringComparison.OrdinalIgnoreCase))
            {
                qualifier = SetQualifier.ForAllValues;
                rest = rest["ForAllValues:".Length..];
            }
            else if (rest.StartsWith("ForAnyValue:", StringComparison.OrdinalIgnoreCase))
            {
                qualifier = SetQualifier.ForAnyValue;
                rest = rest["ForAnyValue:".Length..];
            }

            var ifExists = false;
            if (!ConditionOperators.TryParse(rest, out var op))
            {
                if (rest.EndsWith("IfExists", StringComparison.OrdinalIgnoreCase) && ConditionOperators.TryParse(rest[..^"IfExists".Length], out op))
                {
                    ifExists = true;
                    if (op == ConditionOperator.Null)
                    {
                        throw ErrorAt(path, offset, "Null cannot take IfExists (Null already tests for presence)");
                    }
                }
                else
                {
                    throw ErrorAt(path, offset, "unknown condition operator");
                }
            }

            if (op == ConditionOperator.Null && qualifier != SetQualifier.None)
            {
                throw ErrorAt(path, offset, "Null cannot take ForAllValues or ForAnyValue");
            }

            return (op, qualifier, ifExists);
        }

        private ConditionValues CompileValues(ConditionOperator op, List<(string Text, string Path, JsonNode Node)> values)
        {
            switch (op)
            {
                case <= ConditionOperator.StringNotLike:
                    var wildcards = op is ConditionOperator.StringLike or ConditionOperator.StringNotLike;
                    var ignoreCase = op is ConditionOperator.StringEqualsIgnoreCase or ConditionOperator.StringNotEqualsIgnoreCase;
                    return new StringValues(values.Select(v => Compile(v.Path, v.Node, () => Template.Parse(v.Text, variables, wildcards))).ToArray(), ignoreCase);
                case <= ConditionOperator.NumericGreaterThanEquals:
                    return new NumericValues(values.Select(v => NumericValues.TryParse(v.Text, out var number)
                        ? number
                        : throw Error(v.Path, v.Node, $"{op} needs a number, not '{v.Text}'{NoVariables(v.Text)}")).ToArray(), op.ComparisonOf());
                case <= ConditionOperator.DateGreaterThanEquals:
                    return new DateValues(values.Select(v => DateValues.TryParse(v.Text, out var ticks)
                        ? ticks
                        : throw Error(v.Path, v.Node, $"{op} needs an ISO 8601 date or epoch seconds, not '{v.Text}'{NoVariables(v.Text)}")).ToArray(), op.ComparisonOf());
                case ConditionOperator.Bool:
                    return new BoolValues(values.Select(v =>
                    {
                        var template = Compile(v.Path, v.Node, () => Template.Parse(v.Text, variables, wildcards: false));
                        return template.HasVariables || v.Text.Equals("true", StringComparison.OrdinalIgnoreCase) || v.Text.Equals("false", StringComparison.OrdinalIgnoreCase)
                            ? template
                            : throw Error(v.Path, v.Node, $"Bool needs \"true\" or \"false\", not '{v.Text}'");
                    }).ToArray());
                case ConditionOperator.BinaryEquals:
                    return new BinaryValues(values.Select(v =>
                    {
                        try
                        {
                            return Convert.FromBase64String(v.Text);
                        }
                        catch (FormatException)
                        {
                            throw Error(v.Path, v.Node, $"BinaryEquals needs a base-64 value, not '{v.Text}'{NoVariables(v.Text)}");
                        }
                    }).ToArray());
                case ConditionOperator.IpAddress or ConditionOperator.NotIpAddress:
                    return new IpValues(values.Select(v => IpValues.TryParseBlock(v.Text, out var block)
                        ? block
                        : throw Error(v.Path, v.Node, $"{op} needs an IPv4 or IPv6 address or CIDR block, not '{v.Text}'{NoVariables(v.Text)}")).ToArray());
                case ConditionOperator.Null:
                    return new NullValues(values.Select(v => v.Text.ToUpperInvariant() switch
                    {
                        "TRUE" => true,
                        "FALSE" => false,
                        _ => throw Error(v.Path, v.Node, $"Null needs \"true\" (key absent) or \"false\" (key present), not '{v.Text}'"),
                    }).ToArray());
                default:
                    return new ArnValues(values.Select(v => Compile(v.Path, v.Node, () => ArnPattern.Parse(v.Text, variables))).ToArray());
            }
        }

        private string NoVariables(string text) =>
            variables && text.Contains("${", StringComparison.Ordinal) ? " (policy variables work only with String, Arn and Bool operators)" : "";

        private List<(string Text, string Path, JsonNode Node)> ConditionValueList(JsonNode node, string path, bool setOperator) =>
            Items(node, path, setOperator ? null : "an empty value list matches nothing; only ForAllValues/ForAnyValue take []",
                item => item.Kind is JsonKind.String or JsonKind.Number or JsonKind.True or JsonKind.False
                    ? null
                    : $"a condition value must be a string, number or boolean, not {item.KindName}");

        private List<(string Text, string Path, JsonNode Node)> StringList(JsonNode node, string path)
        {
            var element = LastSegment(path);
            return Items(node, path, $"{element} is empty",
                item => item.Kind != JsonKind.String ? $"{element} must be a string or an array of strings; found {item.KindName}"
                    : item.Text!.Length == 0 ? $"{element} has an empty string"
                    : null);
        }

        /// <summary>
        /// A string-or-array element's items with their paths. <paramref name="emptyReason"/> refuses an
        /// empty array (null allows it); <paramref name="problem"/> names what is wrong with an item, or null.
        /// </summary>
        private List<(string Text, string Path, JsonNode Node)> Items(JsonNode node, string path, string? emptyReason, Func<JsonNode, string?> problem)
        {
            var items = node.Kind == JsonKind.Array ? node.Items! : [node];
            if (items.Count == 0 && emptyReason is not null)
            {
                throw Error(path, node, emptyReason);
            }

            if (items.Count > limits.MaxValuesPerElement)
            {
                throw Error(path, node, $"{items.Count} values; the limit is {limits.MaxValuesPerElement}");
            }

            var list = new List<(string, string, JsonNode)>(items.Count);
            for (var i = 0; i < items.Count; i++)
            {
                var item = items[i];
                var at = node.Kind == JsonKind.Array ? $"{path}[{i}]" : path;
                if (problem(item) is { } reason)
                {
                    throw Error(at, item, reason);
                }

                list.Add((item.Text!, at, item));
            }

            return list;
        }

        private void CheckElements(JsonNode node, string path, string[] known, string what)
        {
            foreach (var (key, offset, _) in node.Properties!)
            {
                if (Array.IndexOf(known, key) >= 0)
                {
                    continue;
                }

                var at = path.Length == 0 ? key : $"{path}.{key}";
                if (key is "Principal" or "NotPrincipal")
                {
                    throw ErrorAt(at, offset, $"{key} is not allowed: identity and AWS IoT policies apply to whoever they are attached to");
                }

                var match = Array.Find(known, k => k.Equals(key, StringComparison.OrdinalIgnoreCase));
                throw ErrorAt(at, offset, match is null
                    ? $"unknown {what} element '{key}' (expected one of {string.Join(", ", known)})"
                    : $"unknown {what} element '{key}' (element names are case-sensitive: '{match}')");
            }
        }

        private string RequireString(JsonNode node, string path) =>
            node.Kind == JsonKind.String ? node.Text! : throw Error(path, node, $"{LastSegment(path)} must be a string, not {node.KindName}");

        private T Compile<T>(string path, JsonNode node, Func<T> compile)
        {
            try
            {
                return compile();
            }
            catch (TemplateSyntaxException ex)
            {
                throw Error(path, node, ex.Message);
            }
        }

        private static string LastSegment(string path)
        {
            var bracket = path.LastIndexOf('[');
            var trimmed = bracket > path.LastIndexOf('.') ? path[..bracket] : path;
            var dot = trimmed.LastIndexOf('.');
            return dot < 0 ? trimmed : trimmed[(dot + 1)..];
        }

        private PolicyParseException Error(string path, JsonNode node, string reason) => ErrorAt(path, node.Offset, reason);

        private PolicyParseException ErrorAt(string path, long offset, string reason)
        {
            var (line, column) = tree.Position(offset);
            return new PolicyParseException(name, path, line, column, reason);
        }
    }
}
