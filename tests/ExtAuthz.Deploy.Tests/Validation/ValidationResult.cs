using System.Text.Json.Nodes;

namespace ExtAuthz.Deploy.Tests.Validation;

/// <summary>One reason a configuration does not parse into its message, at a path of the input.</summary>
internal sealed record SchemaError(string Path, string Message)
{
    public override string ToString() => $"{(Path.Length == 0 ? "(root)" : Path)}: {Message}";
}

/// <summary>A message met while validating: its type, where it is, and its content with proto field names.</summary>
internal sealed record MessageOccurrence(string Type, string Path, JsonObject Value);

/// <summary>
/// The outcome of <see cref="ProtoJsonValidator.Validate"/>: the errors, and the configuration normalized
/// (proto field names, enum names, <c>@type</c> kept) with every message and scalar indexed by type and
/// field, for the checks that go beyond the schema.
/// </summary>
internal sealed class ValidationResult
{
    public List<SchemaError> Errors { get; } = [];

    public JsonNode? Normalized { get; set; }

    public List<MessageOccurrence> MessageOccurrences { get; } = [];

    /// <summary>Scalar values by the full name of their field (<c>envoy.config.route.v3.RouteAction.cluster</c>).</summary>
    public Dictionary<string, List<(string Path, JsonNode? Value)>> Scalars { get; } = new(StringComparer.Ordinal);

    public bool Valid => Errors.Count == 0;

    public IEnumerable<MessageOccurrence> Messages(string type) => MessageOccurrences.Where(m => m.Type == type);

    public IEnumerable<(string Path, JsonNode? Value)> Values(string field) => Scalars.TryGetValue(field, out var values) ? values : [];
}
