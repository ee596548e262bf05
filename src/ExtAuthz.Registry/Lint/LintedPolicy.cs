using System.Text;
using System.Text.Json;
using ExtAuthz.Policy;

namespace ExtAuthz.Registry.Lint;

/// <summary>Where a policy document sits: the file, and the 0-based index of the file line holding the document's first line (when found).</summary>
internal readonly record struct DocumentLocation(string File, int FirstLineIndex, bool Exact, int FallbackLine)
{
    /// <summary>The file line of a 1-based line of the document text.</summary>
    public int LineOf(int documentLine) => Exact ? FirstLineIndex + documentLine : FallbackLine;
}

/// <summary>One policy document under lint: an AWS IoT policy version or an IAM policy, with its statements read from its text.</summary>
internal sealed class LintedPolicy
{
    public LintedPolicy(string name, string? version, PolicyDocument document, bool iot, bool isDefault, DocumentLocation location)
    {
        Name = name;
        Version = version;
        Document = document;
        Iot = iot;
        IsDefault = isDefault;
        Location = location;
        Statements = StatementView.Read(document);
    }

    public string Name { get; }

    /// <summary>The version ID when the policy has several versions.</summary>
    public string? Version { get; }

    public PolicyDocument Document { get; }

    /// <summary>An AWS IoT policy (else IAM).</summary>
    public bool Iot { get; }

    /// <summary>The version in effect (IAM policies have one).</summary>
    public bool IsDefault { get; }

    public DocumentLocation Location { get; }

    public IReadOnlyList<StatementView> Statements { get; }

    public string Label => (Iot ? "policy " : "IAM policy ") + Name + (Version is null ? "" : $" (version {Version})");

    public LintFinding Finding(LintSeverity severity, string code, StatementView? statement, string message)
    {
        var what = statement is null ? Label : $"{Label} Statement[{statement.Index}]{(statement.Sid is null ? "" : $" ({statement.Sid})")}";
        return new LintFinding(severity, code, Location.File, Location.LineOf(statement?.Line ?? 1), $"{what} {message}")
        {
            Policy = Name,
            Version = Version,
            Statement = statement?.Index,
            Sid = statement?.Sid,
        };
    }
}

internal sealed record ConditionView(string Operator, string Key, IReadOnlyList<string> Values)
{
    /// <summary>String, ARN and Bool operators substitute variables in their values.</summary>
    public bool AllowsVariables
    {
        get
        {
            var name = Operator;
            var colon = name.IndexOf(':', StringComparison.Ordinal);
            name = colon >= 0 ? name[(colon + 1)..] : name;
            return name.StartsWith("String", StringComparison.OrdinalIgnoreCase) || name.StartsWith("Arn", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("Bool", StringComparison.OrdinalIgnoreCase);
        }
    }
}

/// <summary>A statement as written (the document's JSON text) alongside its compiled form.</summary>
internal sealed class StatementView
{
    private static readonly string[] BindingKeyPrefixes =
    [
        "iot:Connection.Thing.", "iot:ClientId", "iot:CertificateId", "iot:Certificate.", "cognito-identity.amazonaws.com:sub",
    ];

    private StatementView(Statement compiled, int line, IReadOnlyList<ConditionView> conditions)
    {
        Compiled = compiled;
        Line = line;
        Conditions = conditions;
    }

    public Statement Compiled { get; }

    public int Index => Compiled.Index;

    public string? Sid => Compiled.Sid;

    /// <summary>1-based line of the statement's opening brace in the document text.</summary>
    public int Line { get; }

    public bool Allow => Compiled.Effect == Effect.Allow;

    public bool NotAction => Compiled.NotAction;

    public bool NotResource => Compiled.NotResource;

    public IReadOnlyList<string> Actions => Compiled.Actions.ToArray();

    public IReadOnlyList<string> Resources => Compiled.Resources.ToArray();

    public bool HasConditions => Compiled.HasConditions;

    public IReadOnlyList<ConditionView> Conditions { get; }

    /// <summary>A condition ties the client to the principal (thing attachment or name, client ID, certificate, Cognito identity).</summary>
    public bool Bound => Conditions.Any(c => BindingKeyPrefixes.Any(p => c.Key.StartsWith(p, StringComparison.OrdinalIgnoreCase)));

    /// <summary>Every string where a variable could be written: resources and condition values.</summary>
    public IEnumerable<string> Strings() => Resources.Concat(Conditions.SelectMany(c => c.Values));

    public static IReadOnlyList<StatementView> Read(PolicyDocument document)
    {
        var bytes = Encoding.UTF8.GetBytes(document.Text);
        var lines = StatementLines(bytes);
        using var json = JsonDocument.Parse(bytes);
        var statement = json.RootElement.GetProperty("Statement");
        var elements = statement.ValueKind == JsonValueKind.Array ? statement.EnumerateArray().ToArray() : [statement];
        var views = new List<StatementView>();
        for (var i = 0; i < document.Statements.Count; i++)
        {
            var conditions = new List<ConditionView>();
            if (i < elements.Length && elements[i].TryGetProperty("Condition", out var condition) && condition.ValueKind == JsonValueKind.Object)
            {
                foreach (var op in condition.EnumerateObject().Where(o => o.Value.ValueKind == JsonValueKind.Object))
                {
                    foreach (var key in op.Value.EnumerateObject())
                    {
                        var values = key.Value.ValueKind == JsonValueKind.Array ? key.Value.EnumerateArray().ToArray() : [key.Value];
                        conditions.Add(new ConditionView(op.Name, key.Name, values.Select(v => v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText()).ToArray()));
                    }
                }
            }

            views.Add(new StatementView(document.Statements[i], i < lines.Count ? lines[i] : 1, conditions));
        }

        return views;
    }

    /// <summary>The 1-based line of each statement object, in order.</summary>
    private static List<int> StatementLines(byte[] bytes)
    {
        var lines = new List<int>();
        var reader = new Utf8JsonReader(bytes);
        var inStatement = false;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1)
            {
                inStatement = reader.ValueTextEquals("Statement");
                if (inStatement)
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        lines.Add(LineAt(bytes, reader.TokenStartIndex));
                        reader.Skip();
                        inStatement = false;
                    }
                }

                continue;
            }

            if (inStatement && reader.TokenType == JsonTokenType.StartObject && reader.CurrentDepth == 2)
            {
                lines.Add(LineAt(bytes, reader.TokenStartIndex));
                reader.Skip();
            }
            else if (inStatement && reader.TokenType == JsonTokenType.EndArray && reader.CurrentDepth == 1)
            {
                inStatement = false;
            }
        }

        return lines;
    }

    private static int LineAt(byte[] bytes, long offset) => bytes.AsSpan(0, (int)offset).Count((byte)'\n') + 1;
}

/// <summary>
/// Finds where a policy document is written: its own JSON file, a JSON file a registry document
/// references, or a block scalar inside a registry document (matched line by line, ignoring
/// indentation). Reads the configuration files again; only lint uses it.
/// </summary>
internal sealed class SourceLocator(RegistrySnapshot snapshot)
{
    private readonly Dictionary<string, string[]> lines = new(StringComparer.Ordinal);

    public DocumentLocation Locate(PolicyDocument document, ConfigSource? hint, string? policyName = null)
    {
        var fallbackFile = hint?.File ?? snapshot.Files.FirstOrDefault(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal)) ?? "";
        var fallback = new DocumentLocation(fallbackFile, 0, false, hint?.Line ?? 0);
        if (hint is { Line: 0, File.Length: > 0 })
        {
            return new DocumentLocation(hint.File, 0, true, 0);
        }

        var text = Normalize(document.Text);
        var docLines = text.Split('\n').Select(l => l.Trim()).ToArray();
        while (docLines.Length > 1 && docLines[^1].Length == 0)
        {
            docLines = docLines[..^1];
        }

        // A JSON file with exactly this text.
        var jsonFiles = snapshot.Files.Where(f => f.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            .OrderBy(f => Path.GetFileNameWithoutExtension(f) == policyName ? 0 : 1);
        foreach (var file in jsonFiles)
        {
            if (Read(file) is { } fileLines && Normalize(string.Join('\n', fileLines)).TrimEnd() == text.TrimEnd())
            {
                return new DocumentLocation(file, 0, true, 0);
            }
        }

        // A block scalar in a registry document: prefer the hinted file, at or after the hinted line.
        var candidates = snapshot.Files.Where(f => !f.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".registry.json", StringComparison.OrdinalIgnoreCase))
            .OrderBy(f => f == hint?.File ? 0 : 1);
        foreach (var file in candidates)
        {
            if (Read(file) is not { } fileLines)
            {
                continue;
            }

            var from = file == hint?.File ? Math.Max(0, hint.Line - 1) : 0;
            for (var start = from; start + docLines.Length <= fileLines.Length; start++)
            {
                var match = true;
                for (var k = 0; k < docLines.Length && match; k++)
                {
                    match = fileLines[start + k].Trim() == docLines[k];
                }

                if (match)
                {
                    return new DocumentLocation(file, start, true, 0);
                }
            }
        }

        return fallback;
    }

    /// <summary>The first line of a registry file holding <paramref name="text"/>, or the first registry file.</summary>
    public (string File, int Line) FindText(string text)
    {
        foreach (var file in snapshot.Files.Where(f => !f.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".registry.json", StringComparison.OrdinalIgnoreCase)))
        {
            if (Read(file) is { } fileLines && Array.FindIndex(fileLines, l => l.Contains(text, StringComparison.Ordinal)) is var index and >= 0)
            {
                return (file, index + 1);
            }
        }

        return (snapshot.Files.Count > 0 ? snapshot.Files[0] : "", 0);
    }

    private string[]? Read(string file)
    {
        if (lines.TryGetValue(file, out var cached))
        {
            return cached;
        }

        string[]? read;
        try
        {
            read = Normalize(File.ReadAllText(file)).Split('\n');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            read = null;
        }

        lines[file] = read!;
        return read;
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal);
}
