using System.Buffers;
using Envoy.Service.Auth.V3;
using Google.Protobuf;

namespace ExtAuthz.Envoy.Checking;

/// <summary>
/// A CheckRequest as gRPC received it, with its HTTP headers map (<c>attributes.request.http.headers</c>)
/// held back as protobuf bytes until a Check needs it. Building that map is half the cost of parsing
/// the request (a string for every name and value, a map entry for each), and a device's X.509 request
/// is decided without reading a header. Everything else is parsed by Google.Protobuf as usual; the
/// held entries are parsed the same way, in the same order, when <see cref="MaterializeHeaders"/> runs,
/// so the request is then exactly what parsing it whole gives (tests hold it to that on mutated input).
/// </summary>
public sealed class ReceivedCheck
{
    // Field numbers along the path to the headers map: CheckRequest.attributes, AttributeContext.request,
    // AttributeContext.Request.http, HttpRequest.headers.
    private const int AttributesField = 1;
    private const int RequestField = 4;
    private const int HttpField = 2;
    private const int HeadersField = 3;

    private byte[]? held;

    private ReceivedCheck(CheckRequest request, byte[]? held)
    {
        Request = request;
        this.held = held;
    }

    /// <summary>The request; its HTTP headers map is empty until <see cref="MaterializeHeaders"/> while some are held.</summary>
    public CheckRequest Request { get; }

    /// <summary>Whether header entries are still held back.</summary>
    public bool HoldsHeaders => held is not null;

    /// <summary>A request parsed whole, with nothing held (in-process callers).</summary>
    public static ReceivedCheck Of(CheckRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new ReceivedCheck(request, null);
    }

    /// <summary>
    /// Parses gRPC's payload, holding the headers map back. Input that is not well-formed protobuf, or uses
    /// the deprecated groups, is parsed whole by Google.Protobuf, which accepts or refuses it as it always does.
    /// </summary>
    public static ReceivedCheck Parse(ReadOnlySequence<byte> payload)
    {
        if (payload.Length > int.MaxValue / 2)
        {
            return Of(CheckRequest.Parser.ParseFrom(payload));
        }

        var length = (int)payload.Length;
        var pool = ArrayPool<byte>.Shared;

        // A rewritten message is never longer than it was; the slack covers writing each nested message
        // a few bytes further on before its length prefix is known.
        var output = pool.Rent(length + 16);
        var held = pool.Rent(Math.Max(length, 1));
        var contiguous = payload.IsSingleSegment ? null : pool.Rent(length);
        try
        {
            ReadOnlySpan<byte> input = payload.IsSingleSegment ? payload.FirstSpan : contiguous.AsSpan(0, length);
            if (contiguous is not null)
            {
                payload.CopyTo(contiguous);
            }

            var heldLength = 0;
            if (!Split(input, 0, output, out var written, held, ref heldLength) || heldLength == 0)
            {
                return Of(CheckRequest.Parser.ParseFrom(payload));
            }

            return new ReceivedCheck(CheckRequest.Parser.ParseFrom(output.AsSpan(0, written)), held.AsSpan(0, heldLength).ToArray());
        }
        finally
        {
            pool.Return(output);
            pool.Return(held);
            if (contiguous is not null)
            {
                pool.Return(contiguous);
            }
        }
    }

    /// <summary>Parses the held header entries into the request's headers map, once; later calls do nothing.</summary>
    public void MaterializeHeaders()
    {
        if (held is not { } entries)
        {
            return;
        }

        held = null;

        // The held bytes are the map's entries as they stood in HttpRequest: on their own, a valid HttpRequest.
        var headers = AttributeContext.Types.HttpRequest.Parser.ParseFrom(entries);
        Request.Attributes.Request.Http.MergeFrom(headers);
    }

    /// <summary>
    /// Copies <paramref name="input"/> (a message at <paramref name="depth"/> on the path to the headers map)
    /// into <paramref name="output"/> without the headers map's entries, which are appended to
    /// <paramref name="held"/>. False for anything not well-formed, or a group.
    /// </summary>
    private static bool Split(ReadOnlySpan<byte> input, int depth, Span<byte> output, out int written, Span<byte> held, ref int heldLength)
    {
        written = 0;
        var position = 0;
        while (position < input.Length)
        {
            var fieldStart = position;
            if (!TryReadVarint(input, ref position, out var tag) || tag >> 3 == 0 || tag >> 3 > int.MaxValue)
            {
                return false;
            }

            var field = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    if (!TryReadVarint(input, ref position, out _))
                    {
                        return false;
                    }

                    break;
                case 1:
                    position += 8;
                    break;
                case 5:
                    position += 4;
                    break;
                case 2:
                    if (!TryReadVarint(input, ref position, out var size) || size > (ulong)(input.Length - position))
                    {
                        return false;
                    }

                    var content = input.Slice(position, (int)size);
                    var end = position + (int)size;
                    if (OnPath(depth, field))
                    {
                        if (depth == 3)
                        {
                            // A headers map entry: held back whole, tag and length included.
                            var entry = input[fieldStart..end];
                            entry.CopyTo(held[heldLength..]);
                            heldLength += entry.Length;
                            position = end;
                            continue;
                        }

                        // A message on the path: rewritten without the entries below it, under its new length.
                        var inner = output[written..];
                        var tagLength = WriteVarint(inner, tag);
                        if (!Split(content, depth + 1, inner[(tagLength + 5)..], out var innerWritten, held, ref heldLength))
                        {
                            return false;
                        }

                        var lengthLength = WriteVarint(inner[tagLength..], (ulong)innerWritten);
                        inner.Slice(tagLength + 5, innerWritten).CopyTo(inner[(tagLength + lengthLength)..]);
                        written += tagLength + lengthLength + innerWritten;
                        position = end;
                        continue;
                    }

                    position = end;
                    break;
                default:
                    return false;
            }

            if (position > input.Length)
            {
                return false;
            }

            input[fieldStart..position].CopyTo(output[written..]);
            written += position - fieldStart;
        }

        return true;
    }

    private static bool OnPath(int depth, int field) => depth switch
    {
        0 => field == AttributesField,
        1 => field == RequestField,
        2 => field == HttpField,
        _ => field == HeadersField,
    };

    private static bool TryReadVarint(ReadOnlySpan<byte> input, ref int position, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && position < input.Length; shift += 7)
        {
            var b = input[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }

    private static int WriteVarint(Span<byte> output, ulong value)
    {
        var count = 0;
        while (value >= 0x80)
        {
            output[count++] = (byte)(value | 0x80);
            value >>= 7;
        }

        output[count++] = (byte)value;
        return count;
    }
}
