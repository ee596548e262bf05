using System.Text;
using Envoy.Config.Core.V3;

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
///   dynamic_metadata: { decision, decision_id, policy, statement (when decided by one), enforced } }
/// </code>
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

    /// <summary>The encoded size in bytes.</summary>
    public static int Size(CheckOutcome outcome) => FieldSize(0) + FieldSize(OkSize(outcome)) + FieldSize(MetadataSize(outcome));

    /// <summary>Writes the answer into <paramref name="destination"/>, which must be exactly <see cref="Size"/> bytes.</summary>
    public static void Write(CheckOutcome outcome, bool enforced, Span<byte> destination)
    {
        var output = new Output(destination);
        output.Delimited(CheckResponseStatus, 0);
        output.Delimited(CheckResponseOkResponse, OkSize(outcome));
        for (var i = 0; i < HeaderNames.Length; i++)
        {
            if (Header(outcome, i) is { } value)
            {
                output.Delimited(OkHeaders, OptionSize(i, value));
                output.Delimited(OptionHeader, HeaderSize(i, value));
                output.Bytes(HeaderKey, HeaderNames[i]);
                if (value.Length > 0)
                {
                    output.String(HeaderValue, value);
                }

                output.Varint(OptionAppendAction, Overwrite);
            }
        }

        for (var i = 0; i < HeaderNames.Length; i++)
        {
            if (Header(outcome, i) is null)
            {
                output.Bytes(OkHeadersToRemove, HeaderNames[i]);
            }
        }

        output.Delimited(CheckResponseDynamicMetadata, MetadataSize(outcome));
        output.StringEntry("decision"u8, outcome.Decision);
        output.StringEntry("decision_id"u8, outcome.DecisionId);
        if (outcome.DecidingStatement is { } statement)
        {
            output.StringEntry("policy"u8, statement.Policy.Name);
            output.StringEntry("statement"u8, statement.Label);
        }

        output.Delimited(StructFields, BoolEntrySize("enforced"u8));
        output.Bytes(EntryKey, "enforced"u8);
        output.Delimited(EntryValue, 2);
        output.Varint(ValueBool, enforced ? (byte)1 : (byte)0);
        output.End();
    }

    /// <summary>Header <paramref name="index"/> of <see cref="IdentityHeaders.All"/>, when this answer sets it.</summary>
    private static string? Header(CheckOutcome outcome, int index) => index switch
    {
        0 => outcome.DecisionId,
        1 => outcome.Subject?.PrincipalId,
        2 => outcome.Subject?.Kind.ToString(),
        3 => outcome.Subject?.PrincipalArn,
        4 => outcome.Subject is null ? null : outcome.Things,
        _ => outcome.SessionHandle,
    };

    /// <summary>The OkHttpResponse: a HeaderValueOption for each header set, the name of each one not set.</summary>
    private static int OkSize(CheckOutcome outcome)
    {
        var size = 0;
        for (var i = 0; i < HeaderNames.Length; i++)
        {
            size += FieldSize(Header(outcome, i) is { } value ? OptionSize(i, value) : HeaderNames[i].Length);
        }

        return size;
    }

    private static int OptionSize(int index, string value) => FieldSize(HeaderSize(index, value)) + 2;

    /// <summary>A HeaderValue: its key, and its value unless empty (proto3 leaves a plain string at its default out).</summary>
    private static int HeaderSize(int index, string value) => FieldSize(HeaderNames[index].Length) + (value.Length > 0 ? StringFieldSize(value) : 0);

    private static int MetadataSize(CheckOutcome outcome)
    {
        var size = FieldSize(StringEntrySize("decision"u8, outcome.Decision)) + FieldSize(StringEntrySize("decision_id"u8, outcome.DecisionId));
        if (outcome.DecidingStatement is { } statement)
        {
            size += FieldSize(StringEntrySize("policy"u8, statement.Policy.Name)) + FieldSize(StringEntrySize("statement"u8, statement.Label));
        }

        return size + FieldSize(BoolEntrySize("enforced"u8));
    }

    private static int StringEntrySize(ReadOnlySpan<byte> key, string value) => FieldSize(key.Length) + FieldSize(StringFieldSize(value));

    private static int BoolEntrySize(ReadOnlySpan<byte> key) => FieldSize(key.Length) + FieldSize(2);

    /// <summary>A string field: tag, length, UTF-8.</summary>
    private static int StringFieldSize(string value) => FieldSize(Encoding.UTF8.GetByteCount(value));

    /// <summary>A length-delimited field of <paramref name="length"/> bytes: tag, length, content.</summary>
    private static int FieldSize(int length) => 1 + VarintSize((uint)length) + length;

    private static int VarintSize(uint value) => value < 1 << 7 ? 1 : value < 1 << 14 ? 2 : value < 1 << 21 ? 3 : value < 1 << 28 ? 4 : 5;

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

        public void String(byte tag, string value)
        {
            Delimited(tag, Encoding.UTF8.GetByteCount(value));
            position += Encoding.UTF8.GetBytes(value, destination[position..]);
        }

        /// <summary>A <c>Struct.fields</c> map entry whose value is a <c>string_value</c>.</summary>
        public void StringEntry(ReadOnlySpan<byte> key, string value)
        {
            Delimited(StructFields, StringEntrySize(key, value));
            Bytes(EntryKey, key);
            Delimited(EntryValue, StringFieldSize(value));
            String(ValueString, value);
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
