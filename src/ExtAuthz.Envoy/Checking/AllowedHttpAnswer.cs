using System.Text;
using Envoy.Config.Core.V3;
using ExtAuthz.Registry;

namespace ExtAuthz.Envoy.Checking;

/// <summary>
/// The answer to an allowed HTTP request, written straight into protobuf's wire format: every allowed
/// request pays for it, and building it as a CheckResponse tree (two dozen objects, each measured and
/// then written by Google.Protobuf) cost more than the policy decision itself. What it writes, in
/// field-number order as Google.Protobuf would, and byte for byte what the same CheckResponse built as
/// a message serializes to (a test holds it to that):
/// <code>
/// CheckResponse { status: {} (OK)
///   ok_response: { headers: [identity headers, OVERWRITE_IF_EXISTS_OR_ADD], headers_to_remove: [ours not set] }
///   dynamic_metadata: { decision, policy and statement (when a statement decided), enforced: false (only under --dry-run) } }
/// </code>
/// The decision ID is the <c>x-extauthz-decision-id</c> header's, which the access log reads as
/// <c>%REQ(x-extauthz-decision-id)%</c>, so the metadata does not repeat it: each entry costs whoever
/// parses the answer (Envoy, on every allowed request).
/// </summary>
internal static class AllowedHttpAnswer
{
    // Tags: (field number << 3) | wire type (0 varint, 2 length-delimited); every field number here is below 16, so one byte.
    private const byte CheckResponseStatus = (1 << 3) | 2;
    private const byte CheckResponseOkResponse = (3 << 3) | 2;
    private const byte CheckResponseDynamicMetadata = (4 << 3) | 2;
    private const byte OkHeaders = (2 << 3) | 2;
    private const byte OkHeadersToRemove = (5 << 3) | 2;
    private const byte OptionHeader = (1 << 3) | 2;
    private const byte OptionAppendAction = (3 << 3) | 0;
    private const byte HeaderKey = (1 << 3) | 2;
    private const byte HeaderValue = (2 << 3) | 2;
    private const byte StructFields = (1 << 3) | 2;
    private const byte EntryKey = (1 << 3) | 2;
    private const byte EntryValue = (2 << 3) | 2;
    private const byte ValueString = (3 << 3) | 2;
    private const byte ValueBool = (4 << 3) | 0;

    private const byte Overwrite = (byte)HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd;

    private static readonly byte[][] HeaderNames = [.. IdentityHeaders.All.Select(Encoding.UTF8.GetBytes)];

    /// <summary>Measures the answer: the UTF-8 length of each string it carries, once, and the sizes that follow.</summary>
    public static Layout Measure(CheckOutcome outcome, bool enforced)
    {
        var layout = default(Layout);
        for (var i = 0; i < HeaderNames.Length; i++)
        {
            var length = Header(outcome, i) is { } value ? Encoding.UTF8.GetByteCount(value) : Layout.Absent;
            layout.Headers[i] = length;
            layout.OkSize += FieldSize(length == Layout.Absent ? HeaderNames[i].Length : OptionSize(i, length));
        }

        layout.Decision = Encoding.UTF8.GetByteCount(outcome.Decision);
        layout.MetadataSize = FieldSize(StringEntrySize("decision"u8, layout.Decision)) + (enforced ? 0 : FieldSize(BoolEntrySize("enforced"u8)));
        if (outcome.DecidingStatement is { } statement)
        {
            layout.Policy = Encoding.UTF8.GetByteCount(statement.Policy.Name);
            layout.Statement = Encoding.UTF8.GetByteCount(statement.Label);
            layout.MetadataSize += FieldSize(StringEntrySize("policy"u8, layout.Policy)) + FieldSize(StringEntrySize("statement"u8, layout.Statement));
        }

        layout.Size = FieldSize(0) + FieldSize(layout.OkSize) + FieldSize(layout.MetadataSize);
        return layout;
    }

    /// <summary>Writes the answer <paramref name="layout"/> measured into <paramref name="destination"/>, which must be exactly its size.</summary>
    public static void Write(CheckOutcome outcome, bool enforced, in Layout layout, Span<byte> destination)
    {
        var output = new Output(destination);
        output.Delimited(CheckResponseStatus, 0);
        output.Delimited(CheckResponseOkResponse, layout.OkSize);
        for (var i = 0; i < HeaderNames.Length; i++)
        {
            var length = layout.Headers[i];
            if (length != Layout.Absent)
            {
                output.Delimited(OkHeaders, OptionSize(i, length));
                output.Delimited(OptionHeader, HeaderSize(i, length));
                output.Bytes(HeaderKey, HeaderNames[i]);
                if (length > 0)
                {
                    output.String(HeaderValue, Header(outcome, i)!, length);
                }

                output.Varint(OptionAppendAction, Overwrite);
            }
        }

        for (var i = 0; i < HeaderNames.Length; i++)
        {
            if (layout.Headers[i] == Layout.Absent)
            {
                output.Bytes(OkHeadersToRemove, HeaderNames[i]);
            }
        }

        output.Delimited(CheckResponseDynamicMetadata, layout.MetadataSize);
        output.StringEntry("decision"u8, outcome.Decision, layout.Decision);
        if (outcome.DecidingStatement is { } statement)
        {
            output.StringEntry("policy"u8, statement.Policy.Name, layout.Policy);
            output.StringEntry("statement"u8, statement.Label, layout.Statement);
        }

        if (!enforced)
        {
            output.Delimited(StructFields, BoolEntrySize("enforced"u8));
            output.Bytes(EntryKey, "enforced"u8);
            output.Delimited(EntryValue, 2);
            output.Varint(ValueBool, 0);
        }

        output.End();
    }

    /// <summary>Header <paramref name="index"/> of <see cref="IdentityHeaders.All"/>, when this answer sets it.</summary>
    private static string? Header(CheckOutcome outcome, int index) => index switch
    {
        0 => outcome.DecisionId,
        1 => outcome.Subject?.PrincipalId,
        2 => outcome.Subject?.Kind.Name(),
        3 => outcome.Subject?.PrincipalArn,
        4 => outcome.Subject is null ? null : outcome.Things,
        _ => outcome.SessionHandle,
    };

    private static int OptionSize(int index, int valueLength) => FieldSize(HeaderSize(index, valueLength)) + 2;

    /// <summary>A HeaderValue: its key, and its value unless empty (proto3 leaves a plain string at its default out).</summary>
    private static int HeaderSize(int index, int valueLength) => FieldSize(HeaderNames[index].Length) + (valueLength > 0 ? FieldSize(valueLength) : 0);

    /// <summary>A <c>Struct.fields</c> entry: the key, and a Value whose <c>string_value</c> is set (a oneof, so written even when empty).</summary>
    private static int StringEntrySize(ReadOnlySpan<byte> key, int valueLength) => FieldSize(key.Length) + FieldSize(FieldSize(valueLength));

    private static int BoolEntrySize(ReadOnlySpan<byte> key) => FieldSize(key.Length) + FieldSize(2);

    /// <summary>A length-delimited field of <paramref name="length"/> bytes: tag, length, content.</summary>
    private static int FieldSize(int length) => 1 + VarintSize((uint)length) + length;

    private static int VarintSize(uint value) => value < 1 << 7 ? 1 : value < 1 << 14 ? 2 : value < 1 << 21 ? 3 : value < 1 << 28 ? 4 : 5;

    /// <summary>The UTF-8 lengths of an answer's strings and the sizes of its parts.</summary>
    public struct Layout
    {
        /// <summary>The length of a header this answer does not set (it is removed instead).</summary>
        public const int Absent = -1;

        /// <summary>Each of <see cref="IdentityHeaders.All"/>: its value's length, or <see cref="Absent"/>.</summary>
        public HeaderLengths Headers;

        public int Decision;
        public int Policy;
        public int Statement;
        public int OkSize;
        public int MetadataSize;

        /// <summary>The whole CheckResponse.</summary>
        public int Size;
    }

    [System.Runtime.CompilerServices.InlineArray(6)]
    public struct HeaderLengths
    {
        private int first;
    }

    private ref struct Output(Span<byte> destination)
    {
        private readonly Span<byte> destination = destination;
        private int position;

        public void Delimited(byte tag, int length)
        {
            destination[position++] = tag;
            var value = (uint)length;
            while (value >= 0x80)
            {
                destination[position++] = (byte)(value | 0x80);
                value >>= 7;
            }

            destination[position++] = (byte)value;
        }

        public void Varint(byte tag, byte value)
        {
            destination[position++] = tag;
            destination[position++] = value;
        }

        public void Bytes(byte tag, ReadOnlySpan<byte> value)
        {
            Delimited(tag, value.Length);
            value.CopyTo(destination[position..]);
            position += value.Length;
        }

        public void String(byte tag, string value, int length)
        {
            Delimited(tag, length);
            position += Encoding.UTF8.GetBytes(value, destination[position..]);
        }

        /// <summary>A <c>Struct.fields</c> map entry whose value is a <c>string_value</c>.</summary>
        public void StringEntry(ReadOnlySpan<byte> key, string value, int length)
        {
            Delimited(StructFields, StringEntrySize(key, length));
            Bytes(EntryKey, key);
            Delimited(EntryValue, FieldSize(length));
            String(ValueString, value, length);
        }

        public readonly void End()
        {
            if (position != destination.Length)
            {
                throw new InvalidOperationException($"the allowed answer took {position} bytes where its size was computed as {destination.Length}");
            }
        }
    }
}
