using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ExtAuthz.Deploy.Tests.Schema;
using ExtAuthz.Deploy.Tests.Yaml;
using Google.Protobuf.Reflection;

namespace ExtAuthz.Deploy.Tests.Validation;

/// <summary>
/// Parses JSON into a message of Envoy's API as Envoy's static bootstrap does (protobuf's JSON parser,
/// strict: unknown fields refused, enum names case-insensitive) — but against descriptors, since
/// Google.Protobuf's C# <c>JsonParser</c> needs generated classes and has no dynamic message. The proto3
/// JSON mapping, as Envoy meets it:
/// <list type="bullet">
/// <item>fields by proto name or JSON name, each once; one member per oneof; null means "not set";</item>
/// <item>strings only from JSON strings; bools only from JSON bools; integers from integral numbers or
/// strings, in their type's range; floating point from numbers or numeric strings (and NaN, ±Infinity);
/// bytes from base64; enums by name (any case) or number;</item>
/// <item>well-known types: Any (<c>@type</c> resolved in the <see cref="Google.Protobuf.Reflection.TypeRegistry"/>,
/// its payload validated as that type, recursively; the types with a special JSON form carry it in
/// <c>value</c>), <c>udpa.type.v1.TypedStruct</c> and <c>xds.type.v3.TypedStruct</c> (their <c>value</c>
/// validated as <c>type_url</c>), Duration, Timestamp, FieldMask, Struct, Value, ListValue and the wrappers.</item>
/// </list>
/// On top, what Envoy checks after parsing: protoc-gen-validate's rules (required messages and oneofs,
/// string lengths and header-name rules, number bounds, defined enum values, list and map sizes), and
/// deprecated fields and enum values, which this project refuses (Envoy warns, then removes them).
/// </summary>
internal sealed partial class ProtoJsonValidator(EnvoySchema schema)
{
    private const string TypeUrlPrefix = "type.googleapis.com/";
    private const decimal MaxDurationSeconds = 315_576_000_000m;

    private static readonly HashSet<string> Wrappers =
    [
        "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value", "google.protobuf.UInt64Value",
        "google.protobuf.Int32Value", "google.protobuf.UInt32Value", "google.protobuf.BoolValue", "google.protobuf.StringValue",
        "google.protobuf.BytesValue",
    ];

    private static readonly HashSet<string> SpecialJson =
    [
        .. Wrappers, "google.protobuf.Any", "google.protobuf.Duration", "google.protobuf.Timestamp", "google.protobuf.FieldMask",
        "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue",
    ];

    private static readonly HashSet<string> TypedStructs = ["udpa.type.v1.TypedStruct", "xds.type.v3.TypedStruct"];

    public ValidationResult Validate(JsonNode? json, string rootType)
    {
        var result = new ValidationResult();
        result.Normalized = Message(schema.Message(rootType), json, "", result);
        return result;
    }

    private JsonNode? Message(MessageDescriptor type, JsonNode? node, string path, ValidationResult result)
    {
        if (SpecialJson.Contains(type.FullName))
        {
            return WellKnown(type, node, path, result);
        }

        if (node is not JsonObject input)
        {
            result.Errors.Add(new(path, $"{type.FullName} must be an object, not {Describe(node)}"));
            return null;
        }

        return Fields(type, input, path, result, except: null);
    }

    /// <summary>A message's fields from an object (all its properties but <paramref name="except"/>), then its validate rules.</summary>
    private JsonObject Fields(MessageDescriptor type, JsonObject input, string path, ValidationResult result, string? except)
    {
        var normalized = new JsonObject();
        var refused = new HashSet<FieldDescriptor>();
        var given = new Dictionary<FieldDescriptor, string>();
        var oneofs = new Dictionary<OneofDescriptor, FieldDescriptor>();
        foreach (var (key, value) in input)
        {
            if (key == except)
            {
                continue;
            }

            var at = JsonPath.Property(path, key);
            var field = type.FindFieldByName(key) ?? type.Fields.InDeclarationOrder().FirstOrDefault(f => f.JsonName == key);
            if (field is null)
            {
                result.Errors.Add(new(at, $"unknown field '{key}' in {type.FullName}{Suggestion(type, key)}"));
                continue;
            }

            if (given.TryGetValue(field, out var earlier))
            {
                result.Errors.Add(new(at, $"field {field.Name} of {type.FullName} is given twice ('{earlier}' and '{key}')"));
                continue;
            }

            given[field] = key;
            if (value is null && !AcceptsNull(field))
            {
                continue;
            }

            if (field.RealContainingOneof is { } oneof)
            {
                if (oneofs.TryGetValue(oneof, out var other))
                {
                    result.Errors.Add(new(at, $"{field.Name} and {other.Name} of {type.FullName} are both set, but they are members of oneof {oneof.Name}: set one"));
                    continue;
                }

                oneofs[oneof] = field;
            }

            if (field.GetOptions()?.Deprecated == true)
            {
                result.Errors.Add(new(at, $"{field.FullName} is deprecated (Envoy warns now and removes it later): use its replacement"));
            }

            var converted = FieldValue(field, value, at, result);
            if (converted is not null || value is null)
            {
                normalized[field.Name] = converted;
            }
            else
            {
                refused.Add(field);
            }
        }

        CheckRules(type, normalized, refused, path, result);
        result.MessageOccurrences.Add(new(type.FullName, path, normalized));
        return normalized;
    }

    private static bool AcceptsNull(FieldDescriptor field) =>
        !field.IsRepeated && field.FieldType switch
        {
            FieldType.Message => field.MessageType.FullName == "google.protobuf.Value",
            FieldType.Enum => field.EnumType.FullName == "google.protobuf.NullValue",
            _ => false,
        };

    private JsonNode? FieldValue(FieldDescriptor field, JsonNode? value, string path, ValidationResult result)
    {
        if (field.IsMap)
        {
            if (value is not JsonObject entries)
            {
                result.Errors.Add(new(path, $"{field.FullName} is a map and needs an object, not {Describe(value)}"));
                return null;
            }

            var keyField = field.MessageType.FindFieldByNumber(1);
            var valueField = field.MessageType.FindFieldByNumber(2);
            var map = new JsonObject();
            foreach (var (key, entry) in entries)
            {
                var at = JsonPath.Property(path, key);
                if (keyField.FieldType != FieldType.String && Single(keyField, JsonValue.Create(key), at, result) is null)
                {
                    continue;
                }

                if (entry is null && !AcceptsNull(valueField))
                {
                    result.Errors.Add(new(at, $"a value in map {field.FullName} cannot be null"));
                    continue;
                }

                map[key] = Single(valueField, entry, at, result);
            }

            return map;
        }

        if (field.IsRepeated)
        {
            if (value is not JsonArray items)
            {
                result.Errors.Add(new(path, $"{field.FullName} is a list and needs an array, not {Describe(value)}"));
                return null;
            }

            var list = new JsonArray();
            for (var i = 0; i < items.Count; i++)
            {
                var at = JsonPath.Index(path, i);
                if (items[i] is null && !AcceptsNull(field))
                {
                    result.Errors.Add(new(at, $"an element of {field.FullName} cannot be null"));
                    continue;
                }

                list.Add(Single(field, items[i], at, result));
            }

            return list;
        }

        return Single(field, value, path, result);
    }

    /// <summary>One value of a field (an element of a list, a map value, or the field itself).</summary>
    private JsonNode? Single(FieldDescriptor field, JsonNode? value, string path, ValidationResult result)
    {
        JsonNode? converted = field.FieldType switch
        {
            FieldType.Message or FieldType.Group => Message(field.MessageType, value, path, result),
            FieldType.Enum => Enum(field.EnumType, value, path, result),
            FieldType.Bool => Kind(value) is JsonValueKind.True or JsonValueKind.False
                ? JsonValue.Create(Kind(value) == JsonValueKind.True)
                : Error(result, path, $"{field.FullName} is a bool and needs true or false, not {Describe(value)}"),
            FieldType.String => Kind(value) == JsonValueKind.String
                ? JsonValue.Create(value!.GetValue<string>())
                : Error(result, path, $"{field.FullName} is a string and needs a string, not {Describe(value)}{QuoteHint(value)}"),
            FieldType.Bytes => Kind(value) == JsonValueKind.String && IsBase64(value!.GetValue<string>())
                ? JsonValue.Create(value.GetValue<string>())
                : Error(result, path, $"{field.FullName} is bytes and needs a base64 string, not {Describe(value)}"),
            FieldType.Double or FieldType.Float => FloatingPoint(field, value, path, result),
            _ => Integer(field, value, path, result),
        };
        if (converted is not null && field.FieldType is not (FieldType.Message or FieldType.Group))
        {
            if (!result.Scalars.TryGetValue(field.FullName, out var values))
            {
                result.Scalars[field.FullName] = values = [];
            }

            values.Add((path, converted));
        }

        return converted;
    }

    private static JsonNode? Enum(EnumDescriptor type, JsonNode? value, string path, ValidationResult result)
    {
        if (type.FullName == "google.protobuf.NullValue" && value is null)
        {
            return null;
        }

        EnumValueDescriptor? found = null;
        switch (Kind(value))
        {
            case JsonValueKind.String:
                // Envoy parses with case_insensitive_enum_parsing.
                var name = value!.GetValue<string>();
                found = type.Values.FirstOrDefault(v => string.Equals(v.Name, name, StringComparison.OrdinalIgnoreCase));
                if (found is null)
                {
                    return Error(result, path, $"'{name}' is not a value of {type.FullName} (one of {string.Join(", ", type.Values.Select(v => v.Name))})");
                }

                break;
            case JsonValueKind.Number when int.TryParse(value!.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number):
                // proto3 enums are open: an undefined number parses (defined_only rules refuse it).
                found = type.FindValueByNumber(number);
                if (found is null)
                {
                    return JsonValue.Create(number);
                }

                break;
            default:
                return Error(result, path, $"{type.FullName} is an enum and needs a name or a number, not {Describe(value)}");
        }

        if (found.GetOptions()?.Deprecated == true)
        {
            result.Errors.Add(new(path, $"{type.FullName}.{found.Name} is deprecated (Envoy warns now and removes it later)"));
        }

        return JsonValue.Create(found.Name);
    }

    private static JsonNode? Integer(FieldDescriptor field, JsonNode? value, string path, ValidationResult result)
    {
        var (min, max) = field.FieldType switch
        {
            FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => ((decimal)int.MinValue, (decimal)int.MaxValue),
            FieldType.UInt32 or FieldType.Fixed32 => (0m, uint.MaxValue),
            FieldType.UInt64 or FieldType.Fixed64 => (0m, ulong.MaxValue),
            _ => ((decimal)long.MinValue, (decimal)long.MaxValue),
        };
        var text = Kind(value) switch
        {
            JsonValueKind.Number => value!.ToJsonString(),
            JsonValueKind.String => value!.GetValue<string>(),
            _ => null,
        };
        if (text is null || !decimal.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var number)
            || number != decimal.Truncate(number))
        {
            return Error(result, path, $"{field.FullName} is an integer ({field.FieldType}) and needs a whole number, not {Describe(value)}");
        }

        return number < min || number > max
            ? Error(result, path, $"{number} is out of range for {field.FullName} ({field.FieldType}: {min} to {max})")
            : JsonValue.Create(number);
    }

    private static JsonNode? FloatingPoint(FieldDescriptor field, JsonNode? value, string path, ValidationResult result)
    {
        var text = Kind(value) switch
        {
            JsonValueKind.Number => value!.ToJsonString(),
            JsonValueKind.String => value!.GetValue<string>(),
            _ => null,
        };
        if (text is "NaN" or "Infinity" or "-Infinity")
        {
            return JsonValue.Create(text);
        }

        if (text is null || !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number))
        {
            return Error(result, path, $"{field.FullName} is a number ({field.FieldType}) and needs a number, not {Describe(value)}");
        }

        return field.FieldType == FieldType.Float && Math.Abs(number) > float.MaxValue
            ? Error(result, path, $"{number} is out of range for {field.FullName} (float)")
            : JsonValue.Create(number);
    }

    private JsonNode? WellKnown(MessageDescriptor type, JsonNode? node, string path, ValidationResult result)
    {
        switch (type.FullName)
        {
            case "google.protobuf.Any":
                return Any(node, path, result);
            case "google.protobuf.Duration":
                return Kind(node) == JsonValueKind.String && DurationSeconds(node!.GetValue<string>()) is not null
                    ? JsonValue.Create(node.GetValue<string>())
                    : Error(result, path, $"a Duration needs a string of seconds with an 's', such as \"0.25s\" or \"30s\" (at most {MaxDurationSeconds}s), not {Describe(node)}");
            case "google.protobuf.Timestamp":
                return Kind(node) == JsonValueKind.String && Rfc3339().IsMatch(node!.GetValue<string>())
                    && DateTimeOffset.TryParse(node.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.None, out _)
                    ? JsonValue.Create(node.GetValue<string>())
                    : Error(result, path, $"a Timestamp needs an RFC 3339 string such as \"2024-01-01T00:00:00Z\", not {Describe(node)}");
            case "google.protobuf.FieldMask":
                return Kind(node) == JsonValueKind.String
                    ? JsonValue.Create(node!.GetValue<string>())
                    : Error(result, path, $"a FieldMask needs a string of comma-separated paths, not {Describe(node)}");
            case "google.protobuf.Struct":
                return node is JsonObject ? node.DeepClone() : Error(result, path, $"a Struct needs an object, not {Describe(node)}");
            case "google.protobuf.ListValue":
                return node is JsonArray ? node.DeepClone() : Error(result, path, $"a ListValue needs an array, not {Describe(node)}");
            case "google.protobuf.Value":
                return node?.DeepClone();
            default:
                // A wrapper: the wrapped scalar's own JSON form.
                var wrapped = type.FindFieldByNumber(1);
                var converted = Single(wrapped, node, path, result);
                if (converted is not null)
                {
                    result.MessageOccurrences.Add(new(type.FullName, path, new JsonObject { ["value"] = converted.DeepClone() }));
                }

                return converted;
        }
    }

    private JsonNode? Any(JsonNode? node, string path, ValidationResult result)
    {
        if (node is not JsonObject input)
        {
            return Error(result, path, $"an Any needs an object with \"@type\", not {Describe(node)}");
        }

        if (input.Count == 0)
        {
            return new JsonObject();
        }

        if (Kind(input["@type"]) != JsonValueKind.String)
        {
            return Error(result, path, "an Any needs \"@type\": \"type.googleapis.com/<message>\"");
        }

        var url = input["@type"]!.GetValue<string>();
        var at = JsonPath.Property(path, "@type");
        var slash = url.LastIndexOf('/');
        if (slash < 0)
        {
            return Error(result, at, $"'{url}' is not a type URL (type.googleapis.com/<message>)");
        }

        var type = schema.Registry.Find(url[(slash + 1)..]);
        if (type is null)
        {
            return Error(result, at, $"unknown @type '{url}': no such message in Envoy's API as of {EnvoyApiPackage.Package} (a misspelling, or an extension newer than that API)");
        }

        JsonObject payload;
        if (SpecialJson.Contains(type.FullName))
        {
            if (input.Any(p => p.Key is not ("@type" or "value")))
            {
                return Error(result, path, $"an Any of {type.FullName} holds its value in \"value\", beside \"@type\" only");
            }

            payload = new JsonObject { ["value"] = WellKnown(type, input["value"], JsonPath.Property(path, "value"), result) };
        }
        else
        {
            payload = Fields(type, input, path, result, except: "@type");
            if (TypedStructs.Contains(type.FullName))
            {
                TypedStruct(input, path, result);
            }
        }

        var normalized = new JsonObject { ["@type"] = url };
        foreach (var (key, value) in payload.ToList())
        {
            payload.Remove(key);
            normalized[key] = value;
        }

        // The occurrence recorded by Fields points at the payload; keep it pointing at the same content.
        var occurrence = result.MessageOccurrences.FindLastIndex(m => m.Path == path && m.Type == type.FullName);
        if (occurrence >= 0)
        {
            result.MessageOccurrences[occurrence] = result.MessageOccurrences[occurrence] with { Value = normalized };
        }

        return normalized;
    }

    /// <summary>A TypedStruct's <c>value</c> is the configuration of <c>type_url</c>'s message, in Struct form: Envoy unpacks it as that type.</summary>
    private void TypedStruct(JsonObject input, string path, ValidationResult result)
    {
        var url = Kind(input["type_url"] ?? input["typeUrl"]) == JsonValueKind.String ? (input["type_url"] ?? input["typeUrl"])!.GetValue<string>() : null;
        if (url is null)
        {
            result.Errors.Add(new(path, "a TypedStruct needs type_url"));
            return;
        }

        var type = schema.Registry.Find(url[(url.LastIndexOf('/') + 1)..]);
        if (type is null)
        {
            result.Errors.Add(new(JsonPath.Property(path, "type_url"), $"unknown type_url '{url}': no such message in Envoy's API as of {EnvoyApiPackage.Package}"));
            return;
        }

        Message(type, input["value"] ?? new JsonObject(), JsonPath.Property(path, "value"), result);
    }

    /// <summary>protoc-gen-validate's rules on a parsed message; fields whose value was refused already have their error.</summary>
    private void CheckRules(MessageDescriptor type, JsonObject message, HashSet<FieldDescriptor> refused, string path, ValidationResult result)
    {
        if (schema.Rules.Skipped(type))
        {
            return;
        }

        foreach (var oneof in type.Oneofs.Where(o => !o.IsSynthetic && schema.Rules.Required(o)))
        {
            if (!oneof.Fields.Any(f => message[f.Name] is not null || refused.Contains(f)))
            {
                result.Errors.Add(new(path, $"{type.FullName} needs one of {string.Join(", ", oneof.Fields.Select(f => f.Name))} (oneof {oneof.Name} is required)"));
            }
        }

        foreach (var field in type.Fields.InDeclarationOrder())
        {
            if (refused.Contains(field) || schema.Rules.For(field) is not { } rules)
            {
                continue;
            }

            var value = message[field.Name];
            var present = message.ContainsKey(field.Name) && value is not null;
            var at = JsonPath.Property(path, field.Name);

            // Oneof members and proto3 optional fields are validated only when set; other scalars always (their default included).
            if (!present && field.ContainingOneof is not null)
            {
                continue;
            }

            if (!present && rules.Members.Any(m => m.Name is "message" or "any" or "duration" or "timestamp" && m.Rules.Flag("required")))
            {
                result.Errors.Add(new(at, $"{field.FullName} is required"));
            }

            if (rules.Nested("repeated") is { } repeated)
            {
                Count(field, repeated, (value as JsonArray)?.Count ?? 0, "items", at, result);
                if (repeated.Nested("items") is { } items && value is JsonArray elements)
                {
                    for (var i = 0; i < elements.Count; i++)
                    {
                        Item(field, items, elements[i], JsonPath.Index(at, i), result);
                    }
                }
            }

            if (rules.Nested("map") is { } map)
            {
                Count(field, map, (value as JsonObject)?.Count ?? 0, "pairs", at, result);
            }

            if (!field.IsRepeated)
            {
                Item(field, rules, value ?? Default(field), at, result);
            }
        }
    }

    /// <summary>The scalar rules (string, numbers, enum, duration) of one value; wrappers are checked when set.</summary>
    private static void Item(FieldDescriptor field, Rules rules, JsonNode? value, string path, ValidationResult result)
    {
        foreach (var (kind, rule) in rules.Members)
        {
            switch (kind)
            {
                case "string" when Kind(value) == JsonValueKind.String:
                    Text(field, rule, value!.GetValue<string>(), path, result);
                    break;
                case "enum" when rule.Flag("defined_only") && Kind(value) == JsonValueKind.Number:
                    result.Errors.Add(new(path, $"{value!.ToJsonString()} is not a defined value of {field.EnumType?.FullName ?? field.FullName}"));
                    break;
                case "duration" when Kind(value) == JsonValueKind.String && DurationSeconds(value!.GetValue<string>()) is { } seconds:
                    Bounds(field, rule, seconds, value.GetValue<string>(), path, result);
                    break;
                case "message" or "any" or "duration" or "timestamp" or "repeated" or "map" or "bool" or "bytes" or "string" or "enum":
                    break;
                default:
                    if (Kind(value) is JsonValueKind.Number or JsonValueKind.String
                        && decimal.TryParse(Kind(value) == JsonValueKind.Number ? value!.ToJsonString() : value!.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
                    {
                        Bounds(field, rule, number, number.ToString(CultureInfo.InvariantCulture), path, result);
                    }

                    break;
            }
        }
    }

    private static void Text(FieldDescriptor field, Rules rule, string text, string path, ValidationResult result)
    {
        if (rule.Flag("ignore_empty") && text.Length == 0)
        {
            return;
        }

        var characters = text.EnumerateRunes().Count();
        var bytes = Encoding.UTF8.GetByteCount(text);
        if (rule.Number("min_len") is { } minLength && characters < minLength)
        {
            result.Errors.Add(new(path, text.Length == 0 ? $"{field.FullName} is required (at least {minLength} character{(minLength == 1 ? "" : "s")})" : $"'{text}' is shorter than {minLength} characters ({field.FullName})"));
        }

        if (rule.Number("max_len") is { } maxLength && characters > maxLength)
        {
            result.Errors.Add(new(path, $"{field.FullName} is longer than {maxLength} characters"));
        }

        if (rule.Number("min_bytes") is { } minBytes && bytes < minBytes)
        {
            result.Errors.Add(new(path, $"{field.FullName} needs at least {minBytes} bytes"));
        }

        if (rule.Number("max_bytes") is { } maxBytes && bytes > maxBytes)
        {
            result.Errors.Add(new(path, $"{field.FullName} is longer than {maxBytes} bytes"));
        }

        var strict = !rule.Has("strict") || rule.Flag("strict");
        switch (rule.Text("well_known_regex"))
        {
            case "HTTP_HEADER_NAME" when !(strict ? HeaderNameStrict() : HeaderValueLoose()).IsMatch(text):
                result.Errors.Add(new(path, $"'{text}' is not a valid HTTP header name ({field.FullName})"));
                break;
            case "HTTP_HEADER_VALUE" when !(strict ? HeaderValueStrict() : HeaderValueLoose()).IsMatch(text):
                result.Errors.Add(new(path, $"{field.FullName} holds a character not allowed in an HTTP header value"));
                break;
        }
    }

    private static void Bounds(FieldDescriptor field, Rules rule, decimal value, string shown, string path, ValidationResult result)
    {
        decimal? Limit(string name) => rule.Number(name) ?? (rule.Nested(name) is { } duration ? DurationOf(duration) : null);
        if (Limit("const") is { } exact && value != exact)
        {
            result.Errors.Add(new(path, $"{field.FullName} must be {exact}, not {shown}"));
        }

        if (Limit("gt") is { } gt && value <= gt)
        {
            result.Errors.Add(new(path, $"{field.FullName} must be greater than {gt}, not {shown}"));
        }

        if (Limit("gte") is { } gte && value < gte)
        {
            result.Errors.Add(new(path, $"{field.FullName} must be at least {gte}, not {shown}"));
        }

        if (Limit("lt") is { } lt && value >= lt)
        {
            result.Errors.Add(new(path, $"{field.FullName} must be less than {lt}, not {shown}"));
        }

        if (Limit("lte") is { } lte && value > lte)
        {
            result.Errors.Add(new(path, $"{field.FullName} must be at most {lte}, not {shown}"));
        }
    }

    /// <summary>A Duration limit in a rule (a google.protobuf.Duration message: seconds and nanos), in seconds.</summary>
    private static decimal DurationOf(Rules duration) => (duration.Number("seconds") ?? 0) + ((duration.Number("nanos") ?? 0) / 1_000_000_000m);

    private static void Count(FieldDescriptor field, Rules rule, int count, string unit, string path, ValidationResult result)
    {
        if (rule.Number($"min_{unit}") is { } min && count < min)
        {
            result.Errors.Add(new(path, $"{field.FullName} needs at least {min} {(unit == "items" ? "element" : "entr")}{(unit == "items" ? (min == 1 ? "" : "s") : (min == 1 ? "y" : "ies"))}, has {count}"));
        }

        if (rule.Number($"max_{unit}") is { } max && count > max)
        {
            result.Errors.Add(new(path, $"{field.FullName} allows at most {max} {unit}, has {count}"));
        }
    }

    /// <summary>A scalar field's value when it is not set, for the rules that apply to defaults too.</summary>
    private static JsonValue? Default(FieldDescriptor field) => field.FieldType switch
    {
        FieldType.String => JsonValue.Create(""),
        FieldType.Bool or FieldType.Message or FieldType.Group or FieldType.Bytes => null,
        FieldType.Enum => JsonValue.Create(field.EnumType.Values[0].Name),
        _ => JsonValue.Create(0),
    };

    /// <summary>Seconds of a proto3 JSON Duration (<c>-?\d+(\.\d{1,9})?s</c>, within ±10,000 years), or null.</summary>
    private static decimal? DurationSeconds(string text)
    {
        if (!DurationText().IsMatch(text))
        {
            return null;
        }

        var seconds = decimal.Parse(text[..^1], NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
        return Math.Abs(seconds) <= MaxDurationSeconds ? seconds : null;
    }

    private static JsonValueKind Kind(JsonNode? node) => node?.GetValueKind() ?? JsonValueKind.Null;

    private static JsonNode? Error(ValidationResult result, string path, string message)
    {
        result.Errors.Add(new(path, message));
        return null;
    }

    private static string Describe(JsonNode? node) => Kind(node) switch
    {
        JsonValueKind.Null => "null",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.True or JsonValueKind.False => $"the bool {node!.ToJsonString()}",
        JsonValueKind.Number => $"the number {node!.ToJsonString()}",
        _ => $"the string {node!.ToJsonString()}",
    };

    /// <summary>Why YAML gave a bool or a number where a string was meant: Envoy reads unquoted on/yes/8080 that way.</summary>
    private static string QuoteHint(JsonNode? node) =>
        Kind(node) is JsonValueKind.True or JsonValueKind.False or JsonValueKind.Number ? " (quote it in YAML: Envoy reads an unquoted on, off, yes, no or number as a bool or number)" : "";

    private static string Suggestion(MessageDescriptor type, string key)
    {
        var close = type.Fields.InDeclarationOrder()
            .Select(f => (f.Name, Distance: Distance(f.Name, key)))
            .Where(c => c.Distance <= 2)
            .OrderBy(c => c.Distance)
            .Select(c => c.Name)
            .FirstOrDefault();
        return close is null ? "" : $" (did you mean '{close}'?)";
    }

    /// <summary>Levenshtein distance, for suggesting the field a misspelling meant.</summary>
    private static int Distance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            previous = current;
        }

        return previous[b.Length];
    }

    private static bool IsBase64(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        padded = padded.PadRight(padded.Length + ((4 - (padded.Length % 4)) % 4), '=');
        return Convert.TryFromBase64String(padded, new byte[padded.Length], out _);
    }

    [GeneratedRegex(@"^-?\d+(\.\d{1,9})?s$")]
    private static partial Regex DurationText();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")]
    private static partial Regex Rfc3339();

    // PGV's HTTP_HEADER_NAME (strict): RFC 7230 token characters, with an optional leading ':' for pseudo-headers.
    [GeneratedRegex(@"^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$")]
    private static partial Regex HeaderNameStrict();

    // PGV's HTTP_HEADER_VALUE (strict): no control characters but horizontal tab.
    [GeneratedRegex(@"^[^\u0000-\u0008\u000A-\u001F\u007F]*$")]
    private static partial Regex HeaderValueStrict();

    // PGV's loose form of both: no NUL, CR or LF.
    [GeneratedRegex(@"^[^\u0000\u000A\u000D]*$")]
    private static partial Regex HeaderValueLoose();
}
