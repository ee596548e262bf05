using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using k8s.Models;

namespace ExtAuthz.K8s.Tests.Schema;

/// <summary>
/// Validates objects against the Kubernetes API's schemas, strictly, as the API server's strict field
/// validation (and kubectl's) does: every field must exist where it is written, every value must have
/// the field's type, and required numbers and booleans must be present.
/// <para>
/// The schemas are the official C# client's models (NuGet KubernetesClient), which its generator writes
/// from the OpenAPI document of one Kubernetes release: one class per definition, one property per
/// field named by <see cref="JsonPropertyNameAttribute"/>, with the definition's types. The generator
/// marks a required integer, number or boolean by a non-nullable type (<c>int</c>, not <c>int?</c>);
/// required strings, objects and lists are not marked, so their presence is not checked here, nor are
/// enumerations and formats (the types carry neither). The published JSON Schema files cannot be used
/// instead: this machine's only network is the package registries, and no package there carries them.
/// </para>
/// </summary>
internal static partial class ApiSchema
{
    private static readonly Dictionary<(string ApiVersion, string Kind), Type> Objects = typeof(V1Pod).Assembly.GetTypes()
        .Select(t => (Type: t, Entity: t.GetCustomAttribute<KubernetesEntityAttribute>()))
        .Where(e => e.Entity is { Kind.Length: > 0 })
        .ToDictionary(e => (e.Entity!.Group is { Length: > 0 } group ? $"{group}/{e.Entity.ApiVersion}" : e.Entity.ApiVersion, e.Entity.Kind), e => e.Type);

    private static readonly ConcurrentDictionary<Type, Dictionary<string, PropertyInfo>> Fields = new();

    /// <summary>The version of the Kubernetes API the schemas are from, as the client records it.</summary>
    public static string KubernetesVersion => GeneratedModelVersion.SwaggerVersion;

    /// <summary>The schema's problems with one object (none when it is valid), each as <c>.path: problem</c>.</summary>
    public static List<string> Validate(JsonObject json)
    {
        var apiVersion = (string?)json["apiVersion"];
        var kind = (string?)json["kind"];
        if (apiVersion is null || kind is null)
        {
            return ["an object needs apiVersion and kind"];
        }

        if (!Objects.TryGetValue((apiVersion, kind), out var type))
        {
            return [$"the Kubernetes API {KubernetesVersion} has no {kind} in {apiVersion}"];
        }

        var problems = new List<string>();
        Check(json, type, string.Empty, problems);
        return problems;
    }

    private static void Check(JsonNode? value, Type type, string path, List<string> problems)
    {
        var at = path.Length == 0 ? "." : path;
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (value is null)
        {
            problems.Add($"{at}: null, where {Describe(type)} is expected");
            return;
        }

        if (type == typeof(object))
        {
            // A field whose schema keeps unknown fields (x-kubernetes-preserve-unknown-fields): anything goes.
            return;
        }

        if (type == typeof(string) || type == typeof(DateTime) || type == typeof(byte[]))
        {
            if (Kind(value) != JsonValueKind.String)
            {
                problems.Add($"{at}: {Found(value)}, where a string is expected");
            }
            else if (type == typeof(byte[]) && !IsBase64((string)value!))
            {
                problems.Add($"{at}: not base64");
            }

            return;
        }

        if (type == typeof(bool))
        {
            if (Kind(value) is not (JsonValueKind.True or JsonValueKind.False))
            {
                problems.Add($"{at}: {Found(value)}, where a boolean is expected");
            }

            return;
        }

        if (type == typeof(int) || type == typeof(long))
        {
            if (value is not JsonValue number || !number.TryGetValue(out long integer) || (type == typeof(int) && integer is < int.MinValue or > int.MaxValue))
            {
                problems.Add($"{at}: {Found(value)}, where a{(type == typeof(int) ? " 32-bit" : " 64-bit")} integer is expected");
            }

            return;
        }

        if (type == typeof(double))
        {
            if (Kind(value) != JsonValueKind.Number)
            {
                problems.Add($"{at}: {Found(value)}, where a number is expected");
            }

            return;
        }

        if (type == typeof(IntOrString))
        {
            if (Kind(value) != JsonValueKind.String && !(value is JsonValue number && number.TryGetValue(out long _)))
            {
                problems.Add($"{at}: {Found(value)}, where an integer or a string is expected");
            }

            return;
        }

        if (type == typeof(ResourceQuantity))
        {
            if (Kind(value) == JsonValueKind.String ? !Quantity().IsMatch((string)value!) : Kind(value) != JsonValueKind.Number)
            {
                problems.Add($"{at}: {Found(value)} is not a quantity (such as 250m, 1.5, 128Mi or 1e3)");
            }

            return;
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IList<>))
        {
            if (value is not JsonArray array)
            {
                problems.Add($"{at}: {Found(value)}, where a list is expected");
                return;
            }

            for (var i = 0; i < array.Count; i++)
            {
                Check(array[i], type.GetGenericArguments()[0], $"{path}[{i}]", problems);
            }

            return;
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IDictionary<,>) && type.GetGenericArguments()[0] == typeof(string))
        {
            if (value is not JsonObject map)
            {
                problems.Add($"{at}: {Found(value)}, where a map is expected");
                return;
            }

            foreach (var (key, item) in map)
            {
                Check(item, type.GetGenericArguments()[1], $"{path}[{key}]", problems);
            }

            return;
        }

        if (type.IsClass && type.Namespace == typeof(V1Pod).Namespace)
        {
            CheckObject(value, type, path, problems);
            return;
        }

        throw new NotSupportedException($"{at}: the validator does not know the client's type {type}");
    }

    private static void CheckObject(JsonNode value, Type type, string path, List<string> problems)
    {
        if (value is not JsonObject json)
        {
            problems.Add($"{(path.Length == 0 ? "." : path)}: {Found(value)}, where an object ({type.Name}) is expected");
            return;
        }

        var fields = Fields.GetOrAdd(type, static t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetCustomAttribute<JsonIgnoreAttribute>() is null)
            .Select(p => (Property: p, Name: p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name))
            .Where(f => f.Name is not null)
            .ToDictionary(f => f.Name!, f => f.Property, StringComparer.Ordinal));
        foreach (var (name, item) in json)
        {
            if (!fields.TryGetValue(name, out var field))
            {
                problems.Add($"{path}.{name}: unknown field (no such field in {type.Name})");
            }
            else if (item is not null)
            {
                // An explicit null is how YAML writes "not set": absent, which the loop below judges.
                Check(item, field.PropertyType, $"{path}.{name}", problems);
            }
        }

        foreach (var name in fields.Where(f => f.Value.PropertyType.IsValueType && Nullable.GetUnderlyingType(f.Value.PropertyType) is null).Select(f => f.Key))
        {
            if (json[name] is null)
            {
                problems.Add($"{path}.{name}: required (in {type.Name})");
            }
        }
    }

    private static JsonValueKind Kind(JsonNode value) => value.GetValueKind();

    private static string Found(JsonNode value) => Kind(value) switch
    {
        JsonValueKind.String => $"the string \"{(string)value!}\"",
        JsonValueKind.Number => $"the number {value.ToJsonString()}",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {value.ToJsonString()}",
        JsonValueKind.Array => "a list",
        JsonValueKind.Object => "an object",
        _ => value.ToJsonString(),
    };

    private static string Describe(Type type) => type.IsClass && type != typeof(string) ? $"a value ({type.Name})" : $"a {type.Name}";

    private static bool IsBase64(string text) => Convert.TryFromBase64String(text, new byte[text.Length], out _);

    // resource.Quantity's serialization: a signed decimal, then a binary (Ki…Ei) or decimal (n…E) suffix
    // or a decimal exponent.
    [GeneratedRegex(@"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Quantity();
}
