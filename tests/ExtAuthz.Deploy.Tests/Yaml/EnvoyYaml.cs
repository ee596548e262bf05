using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ExtAuthz.Deploy.Tests.Yaml;

/// <summary>A YAML file as Envoy reads it, as JSON, with the line of every value for messages.</summary>
internal sealed record EnvoyYamlDocument(JsonNode? Root, IReadOnlyDictionary<string, long> Lines)
{
    /// <summary>The line of the value at <paramref name="path"/>, or of the nearest enclosing value that has one.</summary>
    public long? LineOf(string path)
    {
        for (var candidate = path; ; candidate = Parent(candidate))
        {
            if (Lines.TryGetValue(candidate, out var line))
            {
                return line;
            }

            if (candidate.Length == 0)
            {
                return null;
            }
        }
    }

    private static string Parent(string path)
    {
        var cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
        return cut <= 0 ? "" : path[..cut];
    }
}

/// <summary>
/// YAML to JSON with Envoy's rules (<c>MessageUtil::loadFromYaml</c> → <c>parseYamlNode</c>, on yaml-cpp),
/// which differ from YAML 1.2's, so that a value means here what it means to Envoy:
/// <list type="bullet">
/// <item>a quoted or block scalar is a string;</item>
/// <item>a plain scalar that yaml-cpp reads as a bool (<c>y n yes no true false on off</c>, all lower, all
/// upper or capitalized) is a bool, so an unquoted <c>on</c> where Envoy wants a string is a type error;</item>
/// <item>else one that reads as a 64-bit integer (decimal, <c>0x</c> hex, leading-<c>0</c> octal, a sign) is a
/// number when it fits 32 bits and a decimal string otherwise (proto3 JSON takes both for integers);</item>
/// <item>everything else, floating-point numbers included, is a string: the JSON parser converts it by the
/// field's type (proto3 JSON accepts <c>"0.5"</c> for a double, <c>"0.25s"</c> for a Duration);</item>
/// <item><c>~</c>, <c>null</c>, <c>Null</c>, <c>NULL</c> and an empty plain value are null; map keys are their text, and a
/// key tagged <c>!ignore</c> is dropped.</item>
/// </list>
/// Envoy reads the first document only; a file with more is refused here, as is a key given twice
/// (YamlDotNet refuses it; yaml-cpp would keep the last one silently). Aliases are expanded; merge keys (<c>&lt;&lt;</c>) are
/// ordinary keys, as in yaml-cpp, and so unknown fields.
/// </summary>
internal static class EnvoyYaml
{
    public static EnvoyYamlDocument Parse(string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new FormatException($"line {e.Start.Line}: {e.Message}{(e.InnerException is { } inner ? $" ({inner.Message})" : "")}", e);
        }

        if (stream.Documents.Count != 1)
        {
            throw new FormatException($"{stream.Documents.Count} YAML documents; Envoy reads exactly one");
        }

        var lines = new Dictionary<string, long>(StringComparer.Ordinal);
        return new EnvoyYamlDocument(Convert(stream.Documents[0].RootNode, "", lines), lines);
    }

    /// <summary>A plain scalar's meaning to Envoy: null, a bool, a number, or its text.</summary>
    public static JsonNode? Scalar(string value)
    {
        if (value is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (TryBool(value, out var flag))
        {
            return JsonValue.Create(flag);
        }

        if (TryInt64(value, out var number))
        {
            return number is >= int.MinValue and <= int.MaxValue
                ? JsonValue.Create(number)
                : JsonValue.Create(number.ToString(CultureInfo.InvariantCulture));
        }

        return JsonValue.Create(value);
    }

    private static JsonNode? Convert(YamlNode node, string path, Dictionary<string, long> lines)
    {
        lines[path] = node.Start.Line;
        switch (node)
        {
            case YamlScalarNode scalar:
                return scalar.Style != ScalarStyle.Plain || scalar.Tag.ToString() == "!" ? JsonValue.Create(scalar.Value ?? "") : Scalar(scalar.Value ?? "");
            case YamlSequenceNode sequence:
                var array = new JsonArray();
                var index = 0;
                foreach (var item in sequence.Children)
                {
                    array.Add(Convert(item, JsonPath.Index(path, index++), lines));
                }

                return array;
            case YamlMappingNode mapping:
                var map = new JsonObject();
                foreach (var (keyNode, valueNode) in mapping.Children)
                {
                    if (keyNode is not YamlScalarNode key)
                    {
                        throw new FormatException($"line {keyNode.Start.Line}: a map key must be a scalar");
                    }

                    if (key.Tag.ToString() == "!ignore")
                    {
                        continue;
                    }

                    var name = key.Value ?? "";
                    map[name] = Convert(valueNode, JsonPath.Property(path, name), lines);
                }

                return map;
            default:
                throw new FormatException($"line {node.Start.Line}: unsupported YAML node {node.NodeType}");
        }
    }

    /// <summary>yaml-cpp's <c>convert&lt;bool&gt;</c>: one of its words, in a "flexible" case.</summary>
    private static bool TryBool(string value, out bool flag)
    {
        flag = false;
        var flexible = value.All(char.IsLower)
            || (char.IsUpper(value[0]) && (value[1..].All(char.IsLower) || value[1..].All(char.IsUpper)));
        if (!flexible)
        {
            return false;
        }

        switch (value.ToLowerInvariant())
        {
            case "y" or "yes" or "true" or "on":
                flag = true;
                return true;
            case "n" or "no" or "false" or "off":
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// yaml-cpp's <c>convert&lt;int64_t&gt;</c>: a stream read with the base taken from the prefix (<c>0x</c> hex,
    /// <c>0</c> octal, else decimal), an optional sign, no leading space, and nothing left over.
    /// </summary>
    private static bool TryInt64(string value, out long number)
    {
        number = 0;
        var text = value.TrimEnd(' ', '\t', '\n', '\r', '\f', '\v');
        var negative = false;
        if (text.Length > 0 && text[0] is '+' or '-')
        {
            negative = text[0] == '-';
            text = text[1..];
        }

        int radix;
        string digits;
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            (radix, digits) = (16, text[2..]);
        }
        else if (text.Length > 1 && text[0] == '0')
        {
            (radix, digits) = (8, text[1..]);
        }
        else
        {
            (radix, digits) = (10, text);
        }

        if (digits.Length == 0)
        {
            return false;
        }

        BigInteger magnitude = 0;
        foreach (var c in digits)
        {
            var digit = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'a' and <= 'f' => c - 'a' + 10,
                >= 'A' and <= 'F' => c - 'A' + 10,
                _ => int.MaxValue,
            };
            if (digit >= radix)
            {
                return false;
            }

            magnitude = (magnitude * radix) + digit;
        }

        var signed = negative ? -magnitude : magnitude;
        if (signed < long.MinValue || signed > long.MaxValue)
        {
            return false;
        }

        number = (long)signed;
        return true;
    }
}
