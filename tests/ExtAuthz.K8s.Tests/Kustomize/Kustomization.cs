using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ExtAuthz.K8s.Tests.Support;

namespace ExtAuthz.K8s.Tests.Kustomize;

/// <summary>One object of the rendered output, with the file it came from (for messages).</summary>
internal sealed record RenderedObject(string Source, JsonObject Json)
{
    public string Kind => (string?)Json["kind"] ?? string.Empty;

    public string Name => (string?)Json["metadata"]?["name"] ?? string.Empty;

    public override string ToString() => $"{Kind} {Name} ({Source})";
}

/// <summary>
/// The part of kustomize that k8s/kustomization.yaml uses, so that the tests check what
/// <c>kubectl apply -k k8s</c> sends without kubectl: <c>resources</c> (YAML files, several documents
/// each) and <c>configMapGenerator</c> (<c>files</c>, and <c>options.disableNameSuffixHash</c>), with
/// kustomize's content-hash name suffix and the renaming of the generated ConfigMaps in pod volumes.
/// Anything else in the kustomization is refused rather than ignored, so that a new feature cannot
/// slip past the tests unrendered. Like kustomize, no file outside the kustomization's directory may be
/// read.
/// </summary>
internal static class Kustomization
{
    private static readonly HashSet<string> Keys = ["apiVersion", "kind", "resources", "configMapGenerator"];
    private static readonly HashSet<string> GeneratorKeys = ["name", "files", "options"];
    private static readonly HashSet<string> OptionKeys = ["disableNameSuffixHash"];

    public static List<RenderedObject> Render(string directory)
    {
        var root = Path.GetFullPath(directory);
        var kustomization = YamlJson.Load(File.ReadAllText(Path.Combine(root, "kustomization.yaml"))).AsObject();
        Refuse(kustomization, Keys, "kustomization.yaml");
        if ((string?)kustomization["apiVersion"] != "kustomize.config.k8s.io/v1beta1" || (string?)kustomization["kind"] != "Kustomization")
        {
            throw new NotSupportedException("kustomization.yaml must be apiVersion kustomize.config.k8s.io/v1beta1, kind Kustomization");
        }

        var rendered = new List<RenderedObject>();
        foreach (var resource in Strings(kustomization["resources"], "resources"))
        {
            var path = Inside(root, resource);
            if (!File.Exists(path))
            {
                throw new NotSupportedException($"resources: '{resource}' is not a file (directories and URLs are not rendered here)");
            }

            rendered.AddRange(YamlJson.LoadAll(File.ReadAllText(path)).Select(json => new RenderedObject(resource, json.AsObject())));
        }

        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var generator in kustomization["configMapGenerator"]?.AsArray() ?? [])
        {
            var spec = generator?.AsObject() ?? throw new NotSupportedException("configMapGenerator: an entry is empty");
            Refuse(spec, GeneratorKeys, "a configMapGenerator entry");
            var name = (string?)spec["name"] ?? throw new NotSupportedException("configMapGenerator: an entry has no name");
            var options = spec["options"]?.AsObject() ?? [];
            Refuse(options, OptionKeys, $"configMapGenerator {name}: options");

            var data = new JsonObject();
            foreach (var file in Strings(spec["files"], $"configMapGenerator {name}: files"))
            {
                if (file.Contains('=', StringComparison.Ordinal))
                {
                    throw new NotSupportedException($"configMapGenerator {name}: 'key=path' file entries are not rendered here ({file})");
                }

                // The bytes as they are (a byte order mark included), as kustomize reads them.
                var text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(File.ReadAllBytes(Inside(root, file)));
                if (!data.TryAdd(Path.GetFileName(file), text))
                {
                    throw new NotSupportedException($"configMapGenerator {name}: two files named {Path.GetFileName(file)}");
                }
            }

            var finalName = options["disableNameSuffixHash"]?.GetValue<bool>() == true ? name : $"{name}-{Hash(data)}";
            renamed[name] = finalName;
            rendered.Add(new RenderedObject(
                "kustomization.yaml",
                new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = new JsonObject { ["name"] = finalName }, ["data"] = data }));
        }

        foreach (var deployment in rendered.Where(r => r.Kind == "Deployment"))
        {
            foreach (var volume in deployment.Json["spec"]?["template"]?["spec"]?["volumes"]?.AsArray() ?? [])
            {
                if (volume?["configMap"]?["name"] is JsonValue reference && renamed.TryGetValue((string)reference!, out var generated))
                {
                    volume["configMap"]!["name"] = generated;
                }
            }
        }

        return rendered;
    }

    /// <summary>
    /// kustomize's name suffix for a generated ConfigMap: the first ten hexadecimal digits of the SHA-256
    /// of Go's JSON encoding of <c>{"data":…,"kind":"ConfigMap","name":""}</c>, with 0, 1, 3, a and e
    /// replaced by g, h, k, m and t (kustomize keeps vowels and their look-alike digits out of
    /// suffixes, so that none spells a word). The name in
    /// it is empty because kustomize looks it up as one field called "metadata/name", which no object
    /// has; the suffix therefore depends on the data alone.
    /// </summary>
    public static string Hash(JsonObject data)
    {
        var json = new StringBuilder("{\"data\":{");
        var first = true;
        foreach (var (key, value) in data.OrderBy(p => p.Key, Utf8Order.Instance))
        {
            json.Append(first ? string.Empty : ",");
            first = false;
            GoJsonString(json, key);
            json.Append(':');
            GoJsonString(json, (string?)value ?? throw new NotSupportedException($"ConfigMap data '{key}' is not text"));
        }

        json.Append("},\"kind\":\"ConfigMap\",\"name\":\"\"}");
        var hex = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json.ToString())));
        return string.Concat(hex[..10].Select(c => c switch
        {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            _ => c,
        }));
    }

    /// <summary>A string as Go's encoding/json writes it: HTML-safe, and U+2028 and U+2029 escaped.</summary>
    private static void GoJsonString(StringBuilder json, string text)
    {
        json.Append('"');
        foreach (var c in text)
        {
            json.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\b' => "\\b",
                '\f' => "\\f",
                < ' ' or '<' or '>' or '&' or '\u2028' or '\u2029' => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }

        json.Append('"');
    }

    /// <summary>A path of the kustomization, which must stay inside its directory (kustomize's default load restriction).</summary>
    private static string Inside(string root, string relative)
    {
        var path = Path.GetFullPath(Path.Combine(root, relative));
        return path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? path
            : throw new NotSupportedException($"'{relative}' is outside the kustomization's directory {root}, which kustomize refuses to read");
    }

    private static IEnumerable<string> Strings(JsonNode? list, string where) =>
        (list?.AsArray() ?? []).Select(item => (string?)item ?? throw new NotSupportedException($"{where}: an entry is not a string"));

    private static void Refuse(JsonObject json, HashSet<string> known, string where)
    {
        if (json.Select(p => p.Key).FirstOrDefault(key => !known.Contains(key)) is { } unknown)
        {
            throw new NotSupportedException($"{where}: '{unknown}' is not rendered by the tests' kustomize (it renders {string.Join(", ", known)})");
        }
    }

    /// <summary>Go sorts map keys by their UTF-8 bytes.</summary>
    private sealed class Utf8Order : IComparer<string>
    {
        public static readonly Utf8Order Instance = new();

        public int Compare(string? x, string? y) =>
            Encoding.UTF8.GetBytes(x ?? string.Empty).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(y ?? string.Empty));
    }
}
