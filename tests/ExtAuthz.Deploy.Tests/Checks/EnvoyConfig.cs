using System.Text.Json.Nodes;
using ExtAuthz.Deploy.Tests.Schema;
using ExtAuthz.Deploy.Tests.Validation;
using ExtAuthz.Deploy.Tests.Yaml;

namespace ExtAuthz.Deploy.Tests.Checks;

/// <summary>
/// An Envoy configuration file put through everything: read as Envoy reads YAML, parsed strictly into a
/// <c>Bootstrap</c>, then the sidecar checks. <see cref="Problems"/> lists what is wrong, each with the file's
/// line where it is known.
/// </summary>
internal sealed class EnvoyConfig
{
    public const string Bootstrap = "envoy.config.bootstrap.v3.Bootstrap";

    private EnvoyConfig(string name, EnvoyYamlDocument? document, ValidationResult? schema, IReadOnlyList<Finding> findings, string? unreadable)
    {
        Name = name;
        Document = document;
        Schema = schema;
        Findings = findings;
        Problems = unreadable is not null
            ? [$"{name}: {unreadable}"]
            : [.. schema!.Errors.Select(e => Located(e.Path, e.Message)), .. findings.Select(f => Located(f.Path, $"[{f.Check}] {f.Message}"))];
    }

    public string Name { get; }

    public EnvoyYamlDocument? Document { get; }

    public ValidationResult? Schema { get; }

    public IReadOnlyList<Finding> Findings { get; }

    public IReadOnlyList<string> Problems { get; }

    public static EnvoyConfig FromFile(string path) => FromYaml(Path.GetRelativePath(TestEnvironment.RepositoryRoot, path), File.ReadAllText(path));

    /// <summary>JSON is YAML: a mutated configuration is checked from its JSON text, exactly as a file would be.</summary>
    public static EnvoyConfig FromJson(string name, JsonNode json) => FromYaml(name, json.ToJsonString());

    public static EnvoyConfig FromYaml(string name, string text)
    {
        EnvoyYamlDocument document;
        try
        {
            document = EnvoyYaml.Parse(text);
        }
        catch (FormatException e)
        {
            return new EnvoyConfig(name, null, null, [], e.Message);
        }

        var schema = new ProtoJsonValidator(EnvoySchema.Instance).Validate(document.Root, Bootstrap);
        var findings = schema.Valid ? SidecarChecks.Run(schema, ServeDefaults.FromCode()) : [];
        return new EnvoyConfig(name, document, schema, findings, null);
    }

    private string Located(string path, string message) =>
        $"{Name}{(Document?.LineOf(path) is { } line ? $":{line}" : "")}: {(path.Length == 0 ? "(root)" : path)}: {message}";
}
