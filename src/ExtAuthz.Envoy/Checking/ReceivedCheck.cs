using System.Buffers;
using System.Text.Unicode;
using Envoy.Service.Auth.V3;
using Google.Protobuf;

namespace ExtAuthz.Envoy.Checking;

/// <summary>
/// A CheckRequest as gRPC received it, with fields held back as protobuf bytes until they are needed:
/// the HTTP headers map (<c>attributes.request.http.headers</c>; building it is half the cost of
/// parsing the request, a string for every name and value and a map entry for each) and the client
/// certificate (<c>attributes.source.certificate</c>, 1–4 KB of URL-encoded PEM, which a known device's
/// Check looks up by its bytes without making a string of it), both until a Check reads them; and
/// <c>attributes.metadata_context</c> and <c>route_metadata_context</c>, which no Check reads (Envoy
/// sends both, empty by default). A device's X.509
/// request is decided without reading any. Everything else is parsed by Google.Protobuf as usual; the held fields are
/// parsed the same way when <see cref="Materialize"/> runs, so the request is then exactly what parsing
/// it whole gives (tests hold it to that on mutated input). Bytes that are not a CheckRequest are never
/// an exception here: <see cref="ParseError"/> says why, and the Check answers it as an invalid request.
/// A held header or metadata field that protobuf would refuse (a string that is not UTF-8, which Envoy
/// never sends) is noticed when it is parsed: a header by a Check that reads the headers, metadata never
/// by a Check.
/// </summary>
public sealed class ReceivedCheck
{
    private byte[]? heldHeaders;
    private string? headersError;
    private byte[]? heldCertificate;
    private int certificateValueStart;
    private byte[]? heldMetadata;
    private string? metadataError;

    private ReceivedCheck(CheckRequest request, byte[]? heldHeaders, byte[]? heldCertificate, byte[]? heldMetadata, string? parseError = null)
    {
        ParseError = parseError;
        Request = request;
        this.heldHeaders = heldHeaders;
        this.heldCertificate = heldCertificate;
        this.heldMetadata = heldMetadata;
        if (heldCertificate is not null)
        {
            // The held certificate is its whole field, as Split checked it: the tag, the length, the value.
            var position = 0;
            TryReadVarint(heldCertificate, ref position, out _);
            TryReadVarint(heldCertificate, ref position, out _);
            certificateValueStart = position;
        }
    }

    /// <summary>
    /// The request. While headers are held, its HTTP headers map is empty; while the certificate is held,
    /// <c>attributes.source.certificate</c> is, and <see cref="HeldCertificate"/> has it.
    /// </summary>
    public CheckRequest Request { get; }

    /// <summary>Why gRPC's payload is not a CheckRequest (Google.Protobuf's words), or null; <see cref="Request"/> is then empty.</summary>
    public string? ParseError { get; }

    /// <summary>Whether header entries are still held back.</summary>
    public bool HoldsHeaders => heldHeaders is not null;

    /// <summary>Whether <c>metadata_context</c> or <c>route_metadata_context</c> is still held back.</summary>
    public bool HoldsMetadata => heldMetadata is not null;

    /// <summary>Whether the client certificate is still held back.</summary>
    public bool HoldsCertificate => heldCertificate is not null;

    /// <summary>The held client certificate's UTF-8 bytes (what the field would hold as a string); empty when none is held.</summary>
    public ReadOnlySpan<byte> HeldCertificate => heldCertificate.AsSpan(certificateValueStart);

    /// <summary>A request parsed whole, with nothing held (in-process callers).</summary>
    public static ReceivedCheck Of(CheckRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new ReceivedCheck(request, null, null, null);
    }

    /// <summary>
    /// Parses gRPC's payload, holding the fields above back; never throws. Input that is not well-formed
    /// protobuf, or uses the deprecated groups, is parsed whole by Google.Protobuf, which accepts it or
    /// refuses it (then <see cref="ParseError"/>) as it always does.
    /// </summary>
    public static ReceivedCheck Parse(ReadOnlySequence<byte> payload)
    {
        try
        {
            return payload.Length > int.MaxValue / 4 ? Of(CheckRequest.Parser.ParseFrom(payload)) : SplitAndParse(payload);
        }
        catch (InvalidProtocolBufferException ex)
        {
            return new ReceivedCheck(new CheckRequest(), null, null, null, ex.Message);
        }
    }

    private static ReceivedCheck SplitAndParse(ReadOnlySequence<byte> payload)
    {
        var length = (int)payload.Length;
        var pool = ArrayPool<byte>.Shared;

        // One pooled buffer in three parts: the rewritten message (never longer than the input; the slack
        // covers writing each nested message a few bytes further on before its length prefix is known),
        // then the header entries and the metadata fields held back (each at most the input's length).
        var outputLength = length + 16;
        var scratch = pool.Rent(outputLength + (2 * length));
        var contiguous = payload.IsSingleSegment ? null : pool.Rent(length);
        try
        {
            ReadOnlySpan<byte> input = payload.IsSingleSegment ? payload.FirstSpan : contiguous.AsSpan(0, length);
            if (contiguous is not null)
            {
                payload.CopyTo(contiguous);
            }

            var output = scratch.AsSpan(0, outputLength);
            var headers = scratch.AsSpan(outputLength, length);
            var metadata = scratch.AsSpan(outputLength + length, length);
            var held = new Held(headers, metadata);
            if (!Split(input, Level.Root, output, out var written, ref held) || (held.HeadersLength == 0 && held.Certificate.IsEmpty && held.MetadataLength == 0))
            {
                return Of(CheckRequest.Parser.ParseFrom(payload));
            }

            return new ReceivedCheck(
                CheckRequest.Parser.ParseFrom(output[..written]),
                held.HeadersLength == 0 ? null : headers[..held.HeadersLength].ToArray(),
                held.Certificate.IsEmpty ? null : held.Certificate.ToArray(),
                held.MetadataLength == 0 ? null : metadata[..held.MetadataLength].ToArray());
        }
        finally
        {
            pool.Return(scratch);
            if (contiguous is not null)
            {
                pool.Return(contiguous);
            }
        }
    }

    /// <summary>Parses everything held into the request, once; null, or why protobuf refuses a held field (said again by later calls).</summary>
    public string? Materialize()
    {
        if (MaterializeHeaders() is { } error)
        {
            return error;
        }

        if (heldCertificate is { } field)
        {
            heldCertificate = null;
            certificateValueStart = 0;

            // The held field on its own is a valid Peer (Split checked its UTF-8); merging it sets the
            // certificate as parsing it in place would.
            Merge(Request.Attributes.Source, AttributeContext.Types.Peer.Parser, field);
        }

        if (heldMetadata is { } fields)
        {
            heldMetadata = null;

            // On their own the held fields are a valid AttributeContext; merging sets and merges them as parsing in place would.
            metadataError = Merge(Request.Attributes, AttributeContext.Parser, fields);
        }

        return metadataError;
    }

    /// <summary>
    /// Parses the held header entries into the request's headers map, once; null, or why protobuf refuses
    /// them (the request is then left without them, and later calls say so again).
    /// </summary>
    public string? MaterializeHeaders()
    {
        if (heldHeaders is { } entries)
        {
            heldHeaders = null;

            // The held bytes are the map's entries as they stood in HttpRequest: on their own, a valid HttpRequest.
            headersError = Merge(Request.Attributes.Request.Http, AttributeContext.Types.HttpRequest.Parser, entries);
        }

        return headersError;
    }

    /// <summary>Merges the held bytes, parsed as a <typeparamref name="T"/>, into <paramref name="target"/>; null, or why protobuf refuses them.</summary>
    private static string? Merge<T>(T target, MessageParser<T> parser, byte[] held)
        where T : IMessage<T>
    {
        try
        {
            target.MergeFrom(parser.ParseFrom(held));
            return null;
        }
        catch (InvalidProtocolBufferException ex)
        {
            return ex.Message;
        }
    }

    /// <summary>
    /// Copies <paramref name="input"/> (a message at <paramref name="level"/>) into <paramref name="output"/>
    /// without the fields held back, which go to <paramref name="held"/>. False for anything not
    /// well-formed, or a group.
    /// </summary>
    private static bool Split(ReadOnlySpan<byte> input, Level level, Span<byte> output, out int written, ref Held held)
    {
        written = 0;

        // Fields that stay are copied in runs, from kept up to the next field held back or rewritten.
        var kept = 0;
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

                    continue;
                case 1:
                    position += 8;
                    continue;
                case 5:
                    position += 4;
                    continue;
                case 2:
                    break;
                default:
                    return false;
            }

            if (!TryReadVarint(input, ref position, out var size) || size > (ulong)(input.Length - position))
            {
                return false;
            }

            var content = input.Slice(position, (int)size);
            var end = position + (int)size;
            var inner = Inner(level, field);
            if (inner == Level.None)
            {
                position = end;
                continue;
            }

            if (inner == Level.Certificate && !Utf8.IsValid(content))
            {
                // Protobuf refuses a string that is not UTF-8: so does parsing this request whole.
                return false;
            }

            input[kept..fieldStart].CopyTo(output[written..]);
            written += fieldStart - kept;
            kept = end;
            position = end;
            switch (inner)
            {
                case Level.HeaderEntry:
                    // Held back whole, tag and length included; entries keep their order.
                    held.AddHeaderEntry(input[fieldStart..end]);
                    break;
                case Level.Metadata:
                    held.AddMetadata(input[fieldStart..end]);
                    break;
                case Level.Certificate:
                    // A singular field: the last occurrence wins, as it does when protobuf parses it.
                    held.Certificate = input[fieldStart..end];
                    break;
                default:
                    // A message on the way to a held field: rewritten without it, under its new length.
                    var rewritten = output[written..];
                    var tagLength = WriteVarint(rewritten, tag);
                    if (!Split(content, inner, rewritten[(tagLength + 5)..], out var innerWritten, ref held))
                    {
                        return false;
                    }

                    var lengthLength = WriteVarint(rewritten[tagLength..], (ulong)innerWritten);
                    rewritten.Slice(tagLength + 5, innerWritten).CopyTo(rewritten[(tagLength + lengthLength)..]);
                    written += tagLength + lengthLength + innerWritten;
                    break;
            }
        }

        // A fixed-width field may claim bytes past the end: not well-formed.
        if (position > input.Length)
        {
            return false;
        }

        input[kept..].CopyTo(output[written..]);
        written += input.Length - kept;
        return true;
    }

    /// <summary>
    /// Where a length-delimited field leads: into a message on the way to a held field (CheckRequest.attributes
    /// = 1; AttributeContext.request = 4, .source = 1; Request.http = 2), to a held field (HttpRequest.headers
    /// = 3, an entry of the map; Peer.certificate = 5; AttributeContext.metadata_context = 11 and
    /// .route_metadata_context = 13), or nowhere of interest.
    /// </summary>
    private static Level Inner(Level level, int field) => (level, field) switch
    {
        (Level.Root, 1) => Level.Attributes,
        (Level.Attributes, 4) => Level.Request,
        (Level.Attributes, 1) => Level.Source,
        (Level.Attributes, 11 or 13) => Level.Metadata,
        (Level.Request, 2) => Level.Http,
        (Level.Http, 3) => Level.HeaderEntry,
        (Level.Source, 5) => Level.Certificate,
        _ => Level.None,
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

    private enum Level
    {
        None,
        Root,
        Attributes,
        Request,
        Http,
        Source,
        HeaderEntry,
        Certificate,
        Metadata,
    }

    /// <summary>
    /// What splitting has held back so far: header entries and metadata fields, each in order, and the
    /// last certificate field (a slice of the input).
    /// </summary>
    private ref struct Held(Span<byte> headers, Span<byte> metadata)
    {
        private readonly Span<byte> headers = headers;
        private readonly Span<byte> metadata = metadata;

        public int HeadersLength { get; private set; }

        public int MetadataLength { get; private set; }

        public ReadOnlySpan<byte> Certificate { get; set; }

        public void AddHeaderEntry(ReadOnlySpan<byte> entry)
        {
            entry.CopyTo(headers[HeadersLength..]);
            HeadersLength += entry.Length;
        }

        public void AddMetadata(ReadOnlySpan<byte> field)
        {
            field.CopyTo(metadata[MetadataLength..]);
            MetadataLength += field.Length;
        }
    }
}
