using System.Text;
using System.Text.Json;
using ExtAuthz.Policy;

namespace ExtAuthz.Commands;

/// <summary>
/// <c>extauthz eval</c>: the offline evaluator. Reads policies, optional boundary policies and
/// requests as one JSON object and writes one result per request. Other tools (the AWS doc-case
/// runner among them) rely on this contract; docs/eval.md describes it.
/// </summary>
internal static class EvalCommand
{
    public const string Help = """
        extauthz eval FILE|-

        Evaluates requests against AWS IoT / IAM policies exactly as AWS would, offline.
        Reads one JSON object from FILE (or standard input with '-'):

          { "policies": [ <policy document> | {"name": "p1", "document": <document or its JSON text>} ],
            "boundaryPolicies": [ same shape ],      optional; when present a request is allowed only if
                                                     both sets allow it (Cognito: IAM role ∩ IoT policy)
            "requests": [ {"action": "iot:Publish",
                           "resource": "arn:aws:iot:us-east-1:123456789012:topic/a/b",
                           "context": {"iot:ClientId": "dev1", "iot:ConnectAttributes": ["LastWill"]}} ] }

        Context values are strings or arrays of strings. Unnamed policies are named after their place,
        e.g. policies[0]. Writes one JSON object to standard output:

          { "results": [ {"decision": "ALLOWED" | "EXPLICIT_DENY" | "IMPLICIT_DENY",
                          "allowed": [{"policy": "p1", "statement": 0, "sid": "..."}],
                          "explicitDeny": [...],
                          "missingContextValues": ["..."]} ] }

        Statements from boundary policies carry "boundary": true.
        Exit status: 0 when every request was evaluated (whatever the decisions); 2 when the input or a
        policy is malformed, with the reason on standard error and nothing on standard output.
        """;

    private static readonly string[] TopLevel = ["policies", "boundaryPolicies", "requests"];
    private static readonly string[] RequestFields = ["action", "resource", "context"];

    public static async Task<int> RunAsync(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        if (args is ["--help" or "-h"])
        {
            await stdout.WriteLineAsync(Help).ConfigureAwait(false);
            return Cli.ExitOk;
        }

        if (args.Length != 1)
        {
            await stderr.WriteLineAsync("extauthz eval: expected one argument, a FILE or '-' for standard input\n\n" + Help).ConfigureAwait(false);
            return Cli.ExitUsage;
        }

        string input;
        try
        {
            input = args[0] == "-" ? await stdin.ReadToEndAsync().ConfigureAwait(false) : await File.ReadAllTextAsync(args[0]).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"extauthz eval: cannot read {args[0]}: {ex.Message}").ConfigureAwait(false);
            return Cli.ExitBadInput;
        }

        string output;
        try
        {
            output = Evaluate(input);
        }
        catch (EvalInputException ex)
        {
            await stderr.WriteLineAsync($"extauthz eval: {ex.Message}").ConfigureAwait(false);
            return Cli.ExitBadInput;
        }
        catch (PolicyParseException ex)
        {
            await stderr.WriteLineAsync($"extauthz eval: {ex.Message}").ConfigureAwait(false);
            return Cli.ExitBadInput;
        }

        await stdout.WriteLineAsync(output).ConfigureAwait(false);
        return Cli.ExitOk;
    }

    /// <summary>Evaluates a whole input document; throws <see cref="EvalInputException"/> or <see cref="PolicyParseException"/>.</summary>
    public static string Evaluate(string input)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(input, new JsonDocumentOptions { AllowDuplicateProperties = false, MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            throw new EvalInputException($"the input is not valid JSON: {ex.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new EvalInputException("the input must be a JSON object with \"policies\" and \"requests\"");
            }

            foreach (var property in root.EnumerateObject())
            {
                if (Array.IndexOf(TopLevel, property.Name) < 0)
                {
                    throw new EvalInputException($"unknown field \"{property.Name}\" (expected {string.Join(", ", TopLevel)})");
                }
            }

            var policies = ReadPolicies(root, "policies", required: true)!;
            var boundary = ReadPolicies(root, "boundaryPolicies", required: false);
            var requests = ReadRequests(root);

            var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WriteStartArray("results");
                foreach (var request in requests)
                {
                    WriteResult(writer, PolicyEvaluator.Explain(policies, boundary, request));
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            return Encoding.UTF8.GetString(buffer.ToArray());
        }
    }

    private static PolicySet? ReadPolicies(JsonElement root, string field, bool required)
    {
        if (!root.TryGetProperty(field, out var list))
        {
            return required ? throw new EvalInputException($"missing \"{field}\"") : null;
        }

        if (list.ValueKind != JsonValueKind.Array)
        {
            throw new EvalInputException($"\"{field}\" must be an array");
        }

        var policies = new List<PolicyDocument>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var index = 0;
        foreach (var item in list.EnumerateArray())
        {
            var place = $"{field}[{index++}]";
            string name;
            string text;
            if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("document", out var body))
            {
                foreach (var property in item.EnumerateObject())
                {
                    if (property.Name is not ("name" or "document"))
                    {
                        throw new EvalInputException($"{place}: unknown field \"{property.Name}\" (a named policy has \"name\" and \"document\")");
                    }
                }

                name = item.TryGetProperty("name", out var nameElement)
                    ? nameElement.ValueKind == JsonValueKind.String ? nameElement.GetString()! : throw new EvalInputException($"{place}.name must be a string")
                    : place;
                text = body.ValueKind switch
                {
                    JsonValueKind.String => body.GetString()!,
                    JsonValueKind.Object => body.GetRawText(),
                    _ => throw new EvalInputException($"{place}.document must be a policy object or its JSON text"),
                };
            }
            else if (item.ValueKind == JsonValueKind.Object)
            {
                name = place;
                text = item.GetRawText();
            }
            else
            {
                throw new EvalInputException($"{place} must be a policy document or {{\"name\", \"document\"}}");
            }

            if (!names.Add(name))
            {
                throw new EvalInputException($"{place}: the policy name \"{name}\" is used twice in \"{field}\"");
            }

            policies.Add(PolicyParser.Parse(name, text));
        }

        return PolicySet.Create(policies);
    }

    private static List<AuthorizationRequest> ReadRequests(JsonElement root)
    {
        if (!root.TryGetProperty("requests", out var list) || list.ValueKind != JsonValueKind.Array)
        {
            throw new EvalInputException("missing \"requests\" (an array)");
        }

        var requests = new List<AuthorizationRequest>();
        var index = 0;
        foreach (var item in list.EnumerateArray())
        {
            var place = $"requests[{index++}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw new EvalInputException($"{place} must be an object with \"action\", \"resource\" and \"context\"");
            }

            foreach (var property in item.EnumerateObject())
            {
                if (Array.IndexOf(RequestFields, property.Name) < 0)
                {
                    throw new EvalInputException($"{place}: unknown field \"{property.Name}\" (expected {string.Join(", ", RequestFields)})");
                }
            }

            var action = RequiredString(item, "action", place);
            var resource = RequiredString(item, "resource", place);
            var context = new RequestContext();
            if (item.TryGetProperty("context", out var contextElement))
            {
                if (contextElement.ValueKind != JsonValueKind.Object)
                {
                    throw new EvalInputException($"{place}.context must be an object");
                }

                foreach (var entry in contextElement.EnumerateObject())
                {
                    var at = $"{place}.context[\"{entry.Name}\"]";
                    switch (entry.Value.ValueKind)
                    {
                        case JsonValueKind.String:
                            context.Set(entry.Name, entry.Value.GetString()!);
                            break;
                        case JsonValueKind.Array:
                            context.Set(entry.Name, entry.Value.EnumerateArray()
                                .Select(v => v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new EvalInputException($"{at}: array items must be strings"))
                                .ToArray());
                            break;
                        default:
                            throw new EvalInputException($"{at} must be a string or an array of strings");
                    }
                }
            }

            requests.Add(new AuthorizationRequest(action, resource, context));
        }

        return requests;
    }

    private static string RequiredString(JsonElement item, string field, string place) =>
        item.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text
            ? text
            : throw new EvalInputException($"{place}.{field} must be a non-empty string");

    private static void WriteResult(Utf8JsonWriter writer, Explanation explanation)
    {
        writer.WriteStartObject();
        writer.WriteString("decision", explanation.Decision.ToAwsString());
        WriteMatches(writer, "allowed", explanation.Allowed);
        WriteMatches(writer, "explicitDeny", explanation.ExplicitDenies);
        writer.WriteStartArray("missingContextValues");
        foreach (var key in explanation.MissingContextValues)
        {
            writer.WriteStringValue(key);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteMatches(Utf8JsonWriter writer, string name, IReadOnlyList<StatementMatch> matches)
    {
        writer.WriteStartArray(name);
        foreach (var match in matches)
        {
            writer.WriteStartObject();
            writer.WriteString("policy", match.Statement.Policy.Name);
            writer.WriteNumber("statement", match.Statement.Index);
            if (match.Statement.Sid is { } sid)
            {
                writer.WriteString("sid", sid);
            }

            if (match.FromBoundary)
            {
                writer.WriteBoolean("boundary", true);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }
}

/// <summary>The eval input is not of the documented shape.</summary>
internal sealed class EvalInputException(string message) : Exception(message);
