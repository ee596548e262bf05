using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using FieldType = Google.Protobuf.Reflection.FieldDescriptorProto.Types.Type;
using Label = Google.Protobuf.Reflection.FieldDescriptorProto.Types.Label;

namespace ExtAuthz.Envoy.Tests;

/// <summary>
/// Protobuf's wire format driven by upstream's descriptors alone (C# protobuf has no dynamic messages):
/// <see cref="Sample"/> encodes a message the way an upstream-compiled Envoy would, every field set to a
/// non-default value (one member per oneof, chosen by <c>variant</c>), and <see cref="Dump"/> decodes
/// bytes field by field with upstream's schema, one <c>path = value</c> line per field, noting any
/// field number upstream does not know, any wire type that disagrees with upstream's field type, and
/// any field whose name in our descriptor differs from upstream's for the same number.
/// </summary>
internal sealed class UpstreamWire(UpstreamIndex index)
{
    /// <summary>Deep enough for Struct inside Value inside ListValue inside Metadata inside the request.</summary>
    private const int MaxDepth = 9;

    /// <summary>(message full name, field name) of every field <see cref="Dump"/> has decoded.</summary>
    public HashSet<(string Message, string Field)> Seen { get; } = [];

    public byte[] Sample(string fullName, int variant) => Encode(index.Messages[fullName], variant, "", 0).ToByteArray();

    public List<string> Dump(ReadOnlySpan<byte> bytes, string fullName, MessageDescriptor? ours, List<string> problems)
    {
        var lines = new List<string>();
        Decode(ByteString.CopyFrom(bytes), fullName, ours, fullName, lines, problems);
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    private ByteString Encode(DescriptorProto message, int variant, string salt, int depth)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        foreach (var field in message.Field)
        {
            if (field.HasOneofIndex && !field.Proto3Optional)
            {
                var members = message.Field.Where(f => f.HasOneofIndex && f.OneofIndex == field.OneofIndex).ToList();
                if (members[variant % members.Count] != field)
                {
                    continue;
                }
            }
            else if (field.Type == FieldType.Message && depth >= MaxDepth)
            {
                continue;
            }

            for (var i = 0; i < (field.Label == Label.Repeated ? 2 : 1); i++)
            {
                WriteField(output, field, variant, $"{salt}/{field.Number}.{i}", depth);
            }
        }

        output.Flush();
        return ByteString.CopyFrom(buffer.ToArray());
    }

    private void WriteField(CodedOutputStream output, FieldDescriptorProto field, int variant, string salt, int depth)
    {
        var number = (ulong)(field.Number * 1000 + variant + salt.Length + 1);
        output.WriteTag(field.Number, WireTypeOf(field.Type));
        switch (field.Type)
        {
            case FieldType.Double: output.WriteDouble(number + 0.5); break;
            case FieldType.Float: output.WriteFloat(number + 0.5f); break;
            case FieldType.Int64: output.WriteInt64((long)number); break;
            case FieldType.Uint64: output.WriteUInt64(number); break;
            case FieldType.Int32: output.WriteInt32((int)number); break;
            case FieldType.Uint32: output.WriteUInt32((uint)number % 500 + 1); break;
            case FieldType.Sint32: output.WriteSInt32(-(int)number); break;
            case FieldType.Sint64: output.WriteSInt64(-(long)number); break;
            case FieldType.Fixed32: output.WriteFixed32((uint)number); break;
            case FieldType.Fixed64: output.WriteFixed64(number); break;
            case FieldType.Sfixed32: output.WriteSFixed32(-(int)number); break;
            case FieldType.Sfixed64: output.WriteSFixed64(-(long)number); break;
            case FieldType.Bool: output.WriteBool(true); break;
            case FieldType.Enum: output.WriteEnum(index.Enums[field.TypeName].Value.Max(v => v.Number)); break;
            case FieldType.String: output.WriteString($"s{salt}~{variant}"); break;
            case FieldType.Bytes: output.WriteBytes(ByteString.CopyFrom(0, 0xFF, (byte)(number % 256), 0x80)); break;
            case FieldType.Message: output.WriteBytes(Encode(index.Messages[field.TypeName], variant, salt, depth + 1)); break;
            default: throw new NotSupportedException($"{field.Name}: field type {field.Type} is not used by Envoy's ext_authz API");
        }
    }

    private void Decode(ByteString bytes, string fullName, MessageDescriptor? ours, string path, List<string> lines, List<string> problems)
    {
        var message = index.Messages[fullName];
        var occurrences = new Dictionary<int, int>();
        var input = bytes.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var number = WireFormat.GetTagFieldNumber(tag);
            var wireType = WireFormat.GetTagWireType(tag);
            var field = message.Field.FirstOrDefault(f => f.Number == number);
            if (field is null)
            {
                problems.Add($"{path}: field number {number} (wire type {wireType}) is unknown to upstream's {fullName}");
                input.SkipLastField();
                continue;
            }

            var ourField = ours?.FindFieldByNumber(number);
            if (ours is not null && ourField?.Name != field.Name)
            {
                problems.Add($"{path}: field number {number} is {field.Name} upstream but {ourField?.Name ?? "undeclared"} in our {ours.FullName}");
            }

            if (wireType != WireTypeOf(field.Type))
            {
                problems.Add($"{path}.{field.Name}: wire type {wireType}, upstream's {field.Type} expects {WireTypeOf(field.Type)}");
                input.SkipLastField();
                continue;
            }

            Seen.Add((fullName, field.Name));
            occurrences[number] = occurrences.GetValueOrDefault(number) + 1;
            var at = $"{path}.{field.Name}[{occurrences[number] - 1}]";
            if (field.Type == FieldType.Message)
            {
                lines.Add($"{at} = {{}}");
                Decode(input.ReadBytes(), field.TypeName, ourField?.MessageType, at, lines, problems);
                continue;
            }

            lines.Add($"{at} = {ReadScalar(input, field.Type)}");
        }
    }

    private static string ReadScalar(CodedInputStream input, FieldType type) => type switch
    {
        FieldType.Double => input.ReadDouble().ToString("R", CultureInfo.InvariantCulture),
        FieldType.Float => input.ReadFloat().ToString("R", CultureInfo.InvariantCulture),
        FieldType.Int64 => input.ReadInt64().ToString(CultureInfo.InvariantCulture),
        FieldType.Uint64 => input.ReadUInt64().ToString(CultureInfo.InvariantCulture),
        FieldType.Int32 => input.ReadInt32().ToString(CultureInfo.InvariantCulture),
        FieldType.Uint32 => input.ReadUInt32().ToString(CultureInfo.InvariantCulture),
        FieldType.Sint32 => input.ReadSInt32().ToString(CultureInfo.InvariantCulture),
        FieldType.Sint64 => input.ReadSInt64().ToString(CultureInfo.InvariantCulture),
        FieldType.Fixed32 => input.ReadFixed32().ToString(CultureInfo.InvariantCulture),
        FieldType.Fixed64 => input.ReadFixed64().ToString(CultureInfo.InvariantCulture),
        FieldType.Sfixed32 => input.ReadSFixed32().ToString(CultureInfo.InvariantCulture),
        FieldType.Sfixed64 => input.ReadSFixed64().ToString(CultureInfo.InvariantCulture),
        FieldType.Bool => input.ReadBool() ? "true" : "false",
        FieldType.Enum => input.ReadEnum().ToString(CultureInfo.InvariantCulture),
        FieldType.String => $"\"{input.ReadString()}\"",
        FieldType.Bytes => Convert.ToBase64String(input.ReadBytes().Span),
        _ => throw new NotSupportedException($"field type {type} is not used by Envoy's ext_authz API"),
    };

    private static WireFormat.WireType WireTypeOf(FieldType type) => type switch
    {
        FieldType.Double or FieldType.Fixed64 or FieldType.Sfixed64 => WireFormat.WireType.Fixed64,
        FieldType.Float or FieldType.Fixed32 or FieldType.Sfixed32 => WireFormat.WireType.Fixed32,
        FieldType.String or FieldType.Bytes or FieldType.Message => WireFormat.WireType.LengthDelimited,
        FieldType.Group => WireFormat.WireType.StartGroup,
        _ => WireFormat.WireType.Varint,
    };
}
