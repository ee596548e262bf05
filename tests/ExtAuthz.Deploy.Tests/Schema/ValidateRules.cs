using System.Collections.Concurrent;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace ExtAuthz.Deploy.Tests.Schema;

/// <summary>
/// protoc-gen-validate's options on Envoy's fields, oneofs and messages (<c>(validate.rules)</c>,
/// <c>(validate.required)</c>, <c>(validate.disabled)</c>, <c>(validate.ignored)</c>). C# protobuf has no
/// PGV runtime and no generated classes for validate.proto here, so the options' bytes (kept as unknown
/// fields) are decoded against validate.proto's own descriptors into a tree of field names: a
/// <see cref="Rules"/> is <c>{"string": {"min_len": 1}}</c>-shaped.
/// </summary>
internal sealed class ValidateRules
{
    private readonly FieldDescriptor fieldRules;
    private readonly int oneofRequired;
    private readonly int messageDisabled;
    private readonly int? messageIgnored;
    private readonly ConcurrentDictionary<FieldDescriptor, Rules?> byField = new();

    public ValidateRules(IEnumerable<FileDescriptor> files)
    {
        var validate = files.SingleOrDefault(f => f.Name == "validate/validate.proto")
            ?? throw new InvalidOperationException("validate/validate.proto is not in the compiled API");
        var extensions = validate.Extensions.UnorderedExtensions.ToDictionary(e => e.FullName);
        fieldRules = extensions["validate.rules"];
        oneofRequired = extensions["validate.required"].FieldNumber;
        messageDisabled = extensions["validate.disabled"].FieldNumber;
        // Newer PGV releases add validate.ignored beside validate.disabled; the package's has only disabled.
        messageIgnored = extensions.TryGetValue("validate.ignored", out var ignored) ? ignored.FieldNumber : null;
    }

    /// <summary>The field's <c>(validate.rules)</c>, or null when it has none.</summary>
    public Rules? For(FieldDescriptor field) =>
        byField.GetOrAdd(field, f => f.GetOptions() is { } options && Extension(options.ToByteString(), fieldRules.FieldNumber) is { } bytes
            ? Decode(fieldRules.MessageType, bytes)
            : null);

    public bool Required(OneofDescriptor oneof) =>
        oneof.GetOptions() is { } options && Extension(options.ToByteString(), oneofRequired) is { } value && value.Span[0] != 0;

    /// <summary>Whether the message opts out of validation (<c>disabled</c> or <c>ignored</c>).</summary>
    public bool Skipped(MessageDescriptor message)
    {
        var options = message.GetOptions()?.ToByteString();
        return options is not null
            && (Extension(options, messageDisabled) is { } disabled && disabled.Span[0] != 0
                || messageIgnored is { } number && Extension(options, number) is { } ignored && ignored.Span[0] != 0);
    }

    /// <summary>The payload of an extension in an options message: a varint's first byte, or a length-delimited field's bytes.</summary>
    private static ReadOnlyMemory<byte>? Extension(ByteString options, int number)
    {
        var input = new CodedInputStream(options.ToByteArray());
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) != number)
            {
                input.SkipLastField();
                continue;
            }

            return WireFormat.GetTagWireType(tag) switch
            {
                WireFormat.WireType.Varint => new byte[] { input.ReadBool() ? (byte)1 : (byte)0 },
                WireFormat.WireType.LengthDelimited => input.ReadBytes().Memory,
                _ => throw new InvalidOperationException($"validate option {number} has an unexpected wire type"),
            };
        }

        return null;
    }

    private static Rules Decode(MessageDescriptor type, ReadOnlyMemory<byte> bytes)
    {
        var values = new Dictionary<string, object>(StringComparer.Ordinal);
        var input = new CodedInputStream(bytes.ToArray());
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var field = type.FindFieldByNumber(WireFormat.GetTagFieldNumber(tag));
            if (field is null)
            {
                input.SkipLastField();
                continue;
            }

            if (field.IsRepeated && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited && field.FieldType is not (FieldType.String or FieldType.Bytes or FieldType.Message))
            {
                // A packed list of numbers.
                var packed = new CodedInputStream(input.ReadBytes().ToByteArray());
                while (!packed.IsAtEnd)
                {
                    Add(values, field, Scalar(field, packed));
                }

                continue;
            }

            Add(values, field, field.FieldType == FieldType.Message ? Decode(field.MessageType, input.ReadBytes().Memory) : Scalar(field, input));
        }

        return new Rules(values);
    }

    private static void Add(Dictionary<string, object> values, FieldDescriptor field, object value)
    {
        if (!field.IsRepeated)
        {
            values[field.Name] = value;
            return;
        }

        if (!values.TryGetValue(field.Name, out var list))
        {
            values[field.Name] = list = new List<object>();
        }

        ((List<object>)list).Add(value);
    }

    private static object Scalar(FieldDescriptor field, CodedInputStream input) => field.FieldType switch
    {
        FieldType.Bool => input.ReadBool(),
        FieldType.Int32 => (decimal)input.ReadInt32(),
        FieldType.Int64 => (decimal)input.ReadInt64(),
        FieldType.UInt32 => (decimal)input.ReadUInt32(),
        FieldType.UInt64 => (decimal)input.ReadUInt64(),
        FieldType.SInt32 => (decimal)input.ReadSInt32(),
        FieldType.SInt64 => (decimal)input.ReadSInt64(),
        FieldType.Fixed32 => (decimal)input.ReadFixed32(),
        FieldType.Fixed64 => (decimal)input.ReadFixed64(),
        FieldType.SFixed32 => (decimal)input.ReadSFixed32(),
        FieldType.SFixed64 => (decimal)input.ReadSFixed64(),
        FieldType.Double => (decimal)input.ReadDouble(),
        FieldType.Float => (decimal)input.ReadFloat(),
        FieldType.Enum => field.EnumType.FindValueByNumber(input.ReadEnum())?.Name ?? "",
        FieldType.String => input.ReadString(),
        FieldType.Bytes => input.ReadBytes(),
        _ => throw new InvalidOperationException($"validate.proto field {field.FullName} has an unexpected type {field.FieldType}"),
    };
}

/// <summary>One decoded validate.proto message: field name to value (nested <see cref="Rules"/>, <see cref="decimal"/>, bool, string, a list).</summary>
internal sealed class Rules(IReadOnlyDictionary<string, object> values)
{
    public Rules? Nested(string name) => values.GetValueOrDefault(name) as Rules;

    public decimal? Number(string name) => values.GetValueOrDefault(name) as decimal?;

    public bool Flag(string name) => values.GetValueOrDefault(name) is true;

    public string? Text(string name) => values.GetValueOrDefault(name) as string;

    public bool Has(string name) => values.ContainsKey(name);

    /// <summary>The one member of a oneof-like rules message that is set (FieldRules' type: <c>string</c>, <c>uint32</c>, …).</summary>
    public IEnumerable<(string Name, Rules Rules)> Members => values.Where(v => v.Value is Rules).Select(v => (v.Key, (Rules)v.Value));
}
