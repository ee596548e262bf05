using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ExtAuthz.K8s.Tests.Support;

/// <summary>
/// YAML documents as the JSON that kubectl sends: plain scalars are typed by the YAML 1.1 rules of the
/// go-yaml library under kubectl and kustomize (so <c>on</c> is a boolean, <c>0440</c> an octal
/// integer and <c>"8883"</c> a string), quoted and block scalars are strings, aliases are expanded.
/// </summary>
internal static partial class YamlJson
{
    private static readonly HashSet<string> Nulls = ["", "~", "null", "Null", "NULL"];
    private static readonly HashSet<string> Trues = ["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"];
    private static readonly HashSet<string> Falses = ["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"];

    /// <summary>Every non-empty document of a multi-document YAML text.</summary>
    public static List<JsonNode> LoadAll(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents
            .Where(d => d.RootNode is not YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" })
            // Re-parsed, so that every value is read as JSON (a 32-bit field's integer is an int, …).
            .Select(d => JsonNode.Parse((Convert(d.RootNode) ?? throw new FormatException("a document is null")).ToJsonString())!)
            .ToList();
    }

    /// <summary>The one document of a YAML text.</summary>
    public static JsonNode Load(string yaml) =>
        LoadAll(yaml) is [var single] ? single : throw new FormatException("expected exactly one YAML document");

    private static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode mapping => Mapping(mapping),
        YamlSequenceNode sequence => new JsonArray(sequence.Children.Select(Convert).ToArray()),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new NotSupportedException($"YAML node {node.GetType().Name} at {node.Start}"),
    };

    private static JsonObject Mapping(YamlMappingNode mapping)
    {
        var result = new JsonObject();
        foreach (var (key, value) in mapping.Children)
        {
            var name = key is YamlScalarNode { Value: { } text } ? text : throw new NotSupportedException($"a non-scalar mapping key at {key.Start}");
            if (name == "<<" && key is YamlScalarNode { Style: ScalarStyle.Plain })
            {
                // Merge keys are not used by any file checked here; refusing them keeps the conversion exact.
                throw new NotSupportedException($"YAML merge keys (<<) at {key.Start}");
            }

            if (!result.TryAdd(name, Convert(value)))
            {
                throw new FormatException($"duplicate key '{name}' at {key.Start}");
            }
        }

        return result;
    }

    private static JsonValue? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? string.Empty;
        var tagged = !scalar.Tag.IsEmpty && !scalar.Tag.IsNonSpecific;
        if (scalar.Style != ScalarStyle.Plain || (tagged && scalar.Tag.Value == "tag:yaml.org,2002:str"))
        {
            return JsonValue.Create(text);
        }

        if (tagged)
        {
            throw new NotSupportedException($"YAML tag {scalar.Tag} at {scalar.Start}");
        }

        if (Nulls.Contains(text))
        {
            return null;
        }

        if (Trues.Contains(text) || Falses.Contains(text))
        {
            return JsonValue.Create(Trues.Contains(text));
        }

        if (text[0] is not ((>= '0' and <= '9') or '-' or '+' or '.'))
        {
            // go-yaml tries numbers only for scalars that start like one.
            return JsonValue.Create(text);
        }

        var plain = text.Replace("_", string.Empty, StringComparison.Ordinal);
        if (Integer().Match(plain) is { Success: true } integer)
        {
            var groups = integer.Groups;
            var value = groups["hex"].Success ? System.Convert.ToInt64(groups["hex"].Value, 16)
                : groups["bin"].Success ? System.Convert.ToInt64(groups["bin"].Value, 2)
                : groups["oct"].Success ? System.Convert.ToInt64(groups["oct"].Value, 8)
                : long.Parse(groups["dec"].Value, NumberStyles.None, CultureInfo.InvariantCulture);
            return JsonValue.Create(groups["sign"].Value == "-" ? -value : value);
        }

        if (Float().IsMatch(plain))
        {
            return JsonValue.Create(double.Parse(plain, NumberStyles.Float, CultureInfo.InvariantCulture));
        }

        return JsonValue.Create(text);
    }

    // Decimal, 0x hexadecimal, 0b binary and YAML 1.1's leading-zero octal (so 08 is not an integer).
    [GeneratedRegex("^(?<sign>[-+]?)(?:0x(?<hex>[0-9a-fA-F]+)|0b(?<bin>[01]+)|0(?<oct>[0-7]+)|(?<dec>0|[1-9][0-9]*))$")]
    private static partial Regex Integer();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex Float();
}
