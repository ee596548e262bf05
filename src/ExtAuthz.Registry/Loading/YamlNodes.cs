using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ExtAuthz.Registry.Loading;

/// <summary>Thrown inside the loader to abandon one item; the error is already recorded.</summary>
internal sealed class ItemRejectedException : Exception;

/// <summary>
/// Typed, position-aware access to a YAML (or JSON) registry document. Every complaint is recorded with
/// the file, line and column; the item is then abandoned with <see cref="ItemRejectedException"/> so the
/// loader can go on and report the other problems too.
/// </summary>
internal sealed class YamlNodes(string file, List<ConfigError> errors)
{
    public string File => file;

    public static YamlNode? ParseDocument(ConfigFile configFile, List<ConfigError> errors)
    {
        try
        {
            var stream = new YamlStream();
            using var reader = new StringReader(configFile.Text);
            stream.Load(reader);
            return stream.Documents.Count switch
            {
                0 => null,
                1 => stream.Documents[0].RootNode,
                _ => throw new YamlException(stream.Documents[1].RootNode.Start, stream.Documents[1].RootNode.Start, "one registry document per file; found a second '---' document"),
            };
        }
        catch (YamlException ex)
        {
            var reason = ex.InnerException is { } inner && ex.Message.Contains("(Line:", StringComparison.Ordinal) ? inner.Message : ex.Message;
            errors.Add(new ConfigError(configFile.Path, (int)ex.Start.Line, (int)ex.Start.Column, Clean(reason)));
            return null;
        }
    }

    public ConfigSource Source(YamlNode node) => new(file, (int)node.Start.Line, (int)node.Start.Column);

    public ItemRejectedException Reject(YamlNode node, string reason)
    {
        errors.Add(new ConfigError(file, (int)node.Start.Line, (int)node.Start.Column, reason));
        return new ItemRejectedException();
    }

    public void Report(YamlNode node, string reason) => errors.Add(new ConfigError(file, (int)node.Start.Line, (int)node.Start.Column, reason));

    /// <summary>
    /// The node as a mapping whose keys are all in <paramref name="allowedKeys"/>. Every unknown key is
    /// reported; the item is then abandoned, unless <paramref name="keepGoing"/> (a whole document, whose
    /// other sections are still worth checking).
    /// </summary>
    public YamlMappingNode Mapping(YamlNode node, string what, string[] allowedKeys, bool keepGoing = false)
    {
        if (node is not YamlMappingNode mapping)
        {
            throw Reject(node, $"{what} must be a mapping (key: value)");
        }

        var unknown = false;
        foreach (var key in mapping.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value ?? "";
            if (Array.IndexOf(allowedKeys, name) >= 0)
            {
                continue;
            }

            unknown = true;
            var near = Array.Find(allowedKeys, k => k.Equals(name, StringComparison.OrdinalIgnoreCase));
            Report(key, near is not null
                ? $"unknown key '{name}' in {what} (keys are case-sensitive: '{near}')"
                : $"unknown key '{name}' in {what} (expected {string.Join(", ", allowedKeys)})");
        }

        return unknown && !keepGoing ? throw new ItemRejectedException() : mapping;
    }

    public YamlMappingNode Mapping(YamlNode node, string what, params string[] allowedKeys) => Mapping(node, what, allowedKeys, keepGoing: false);

    public IEnumerable<YamlNode> Sequence(YamlMappingNode parent, string key, string what)
    {
        if (!parent.Children.TryGetValue(new YamlScalarNode(key), out var node) || IsNull(node))
        {
            return [];
        }

        return node is YamlSequenceNode sequence ? sequence.Children : throw Reject(node, $"{what} must be a list");
    }

    public string? OptionalString(YamlMappingNode parent, string key)
    {
        if (!parent.Children.TryGetValue(new YamlScalarNode(key), out var node) || IsNull(node))
        {
            return null;
        }

        return node is YamlScalarNode { Value: { } value } ? value : throw Reject(node, $"'{key}' must be a single value, not a list or mapping");
    }

    public string RequiredString(YamlMappingNode parent, string key, string what)
    {
        var value = OptionalString(parent, key);
        return string.IsNullOrEmpty(value) ? throw Reject(parent, $"{what} needs '{key}'") : value;
    }

    public bool OptionalBool(YamlMappingNode parent, string key, bool fallback)
    {
        var text = OptionalString(parent, key);
        return text switch
        {
            null => fallback,
            "true" or "True" or "TRUE" => true,
            "false" or "False" or "FALSE" => false,
            _ => throw Reject(Node(parent, key)!, $"'{key}' must be true or false, not '{text}'"),
        };
    }

    public IReadOnlyList<string> StringList(YamlMappingNode parent, string key)
    {
        if (!parent.Children.TryGetValue(new YamlScalarNode(key), out var node) || IsNull(node))
        {
            return [];
        }

        if (node is YamlScalarNode { Value: { } single })
        {
            return [single];
        }

        if (node is not YamlSequenceNode sequence)
        {
            throw Reject(node, $"'{key}' must be a list of names");
        }

        return sequence.Children.Select(item => item is YamlScalarNode { Value: { Length: > 0 } value }
            ? value
            : throw Reject(item, $"'{key}' entries must be non-empty names")).ToArray();
    }

    public YamlNode? Node(YamlMappingNode parent, string key) =>
        parent.Children.TryGetValue(new YamlScalarNode(key), out var node) && !IsNull(node) ? node : null;

    private static bool IsNull(YamlNode node) => node is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" };

    private static string Clean(string message)
    {
        var text = message.Trim();
        var index = text.IndexOf("): ", StringComparison.Ordinal);
        if (text.StartsWith("(Line:", StringComparison.Ordinal) && index > 0)
        {
            text = text[(index + 3)..];
        }

        return text.Length == 0 ? "invalid YAML" : char.ToLowerInvariant(text[0]) + text[1..];
    }
}
