using System.Buffers;
using System.Text;
using System.Text.Unicode;
using Envoy.Config.Core.V3;
using Envoy.Service.Auth.V3;
using Google.Protobuf;

namespace ExtAuthz.Envoy.Checking;

/// <summary>
/// A CheckRequest as gRPC received it, read in two steps. <see cref="Parse"/> reads straight off the
/// wire only what a device's Check reads — the source and destination addresses and services, the
/// HTTP method, path and host, the route's context extensions, the TLS SNI — and keeps the client
/// certificate as its UTF-8 bytes (1–4 KB of URL-encoded PEM, which a known device's Check looks up
/// without making a string of it). Everything else (the headers, the principal, the metadata, the
/// time, …) stays in the kept bytes until <see cref="Materialize"/> parses them whole with
/// Google.Protobuf, so the request is then exactly what parsing it whole gives (tests hold it to that on
/// mutated input). Building the headers map alone was half the cost of parsing the request whole.
/// <para>
/// Bytes that are not a CheckRequest are never an exception here: <see cref="ParseError"/> says why,
/// and the Check answers it as an invalid request. Every field read here is checked as protobuf
/// checks it (well-formed, strings UTF-8), and so is every other string of the messages read here; a
/// message not read here (the headers map, <c>header_map</c>, <c>request.time</c>, the peers'
/// labels, the metadata) that protobuf would refuse is noticed when a Check materializes the request.
/// Envoy never sends such bytes.
/// </para>
/// </summary>
public sealed class ReceivedCheck
{
    private readonly byte[]? bytes;
    private readonly int certificateStart;
    private readonly int certificateLength;
    private bool materialized;
    private string? materializeError;

    private ReceivedCheck(CheckRequest request, string? parseError)
    {
        Request = request;
        ParseError = parseError;
    }

    private ReceivedCheck(CheckRequest request, byte[] bytes, int certificateStart, int certificateLength)
    {
        Request = request;
        this.bytes = bytes;
        this.certificateStart = certificateStart;
        this.certificateLength = certificateLength;
    }

    /// <summary>
    /// The request: until it is materialized, only the fields <see cref="Parse"/> reads are set (the
    /// client certificate not among them: see <see cref="Certificate"/>).
    /// </summary>
    public CheckRequest Request { get; }

    /// <summary>Why gRPC's payload is not a CheckRequest (Google.Protobuf's words), or null; <see cref="Request"/> is then empty.</summary>
    public string? ParseError { get; }

    /// <summary>Whether <see cref="Request"/> holds every field of the bytes (parsed whole, or materialized).</summary>
    public bool IsWhole => bytes is null || materialized;

    /// <summary>
    /// The client certificate's UTF-8 bytes (<c>attributes.source.certificate</c>, the last one sent),
    /// read straight off the wire; empty when there is none, or when the request was given whole
    /// (<see cref="Of"/>: read <see cref="Request"/>'s).
    /// </summary>
    public ReadOnlySpan<byte> Certificate => bytes.AsSpan(certificateStart, certificateLength);

    /// <summary>A request parsed whole (in-process callers).</summary>
    public static ReceivedCheck Of(CheckRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new ReceivedCheck(request, parseError: null);
    }

    /// <summary>
    /// Reads gRPC's payload as described above; never throws. Input that is not well-formed protobuf,
    /// that protobuf would refuse in a field read here, or that uses the deprecated groups, is parsed
    /// whole by Google.Protobuf, which accepts it or refuses it (then <see cref="ParseError"/>) as it always does.
    /// </summary>
    public static ReceivedCheck Parse(ReadOnlySequence<byte> payload)
    {
        try
        {
            if (payload.Length > int.MaxValue)
            {
                return Of(CheckRequest.Parser.ParseFrom(payload));
            }

            var bytes = payload.ToArray();
            var request = new CheckRequest();
            var reader = new Reader(bytes);
            return reader.ReadRoot(request)
                ? new ReceivedCheck(request, bytes, reader.CertificateStart, reader.CertificateLength)
                : Of(CheckRequest.Parser.ParseFrom(bytes));
        }
        catch (InvalidProtocolBufferException ex)
        {
            return new ReceivedCheck(new CheckRequest(), ex.Message);
        }
    }

    /// <summary>
    /// Parses the bytes whole into the request, once; null, or why protobuf refuses them (said again by
    /// later calls; the request then keeps only what <see cref="Parse"/> read).
    /// </summary>
    public string? Materialize()
    {
        if (!IsWhole)
        {
            materialized = true;
            try
            {
                // What Parse read is the whole's, field for field, with no repeated field among it (maps and
                // oneofs merge by replacing): merging the whole in gives exactly the whole.
                Request.MergeFrom(CheckRequest.Parser.ParseFrom(bytes));
            }
            catch (InvalidProtocolBufferException ex)
            {
                materializeError = ex.Message;
            }
        }

        return materializeError;
    }

    /// <summary>
    /// Reads the fields described above into generated messages as Google.Protobuf's generated code
    /// does: a known field by its tag (number and wire type), anything else an unknown field stepped
    /// over (and not kept: the whole parse brings unknown fields when the request is materialized); the
    /// last value of a scalar or oneof member wins; a message field sent again merges. False where the
    /// bytes are not well-formed, a string read or checked here is not UTF-8, a group appears, or an
    /// address is not a socket address (a pipe or an internal address, which no Check reads): the
    /// request is then parsed whole.
    /// </summary>
    private ref struct Reader(ReadOnlySpan<byte> input)
    {
        private const int VarintType = 0;
        private const int DelimitedType = 2;

        private readonly ReadOnlySpan<byte> input = input;

        public int CertificateStart { get; private set; }

        public int CertificateLength { get; private set; }

        public bool ReadRoot(CheckRequest request)
        {
            var position = 0;
            while (Next(ref position, input.Length, out var field, out _, out var start, out var end))
            {
                if (field == Delimited(1) && !ReadAttributes(request.Attributes ??= new AttributeContext(), start, end))
                {
                    return false;
                }
            }

            return position == input.Length;
        }

        private bool ReadAttributes(AttributeContext attributes, int position, int limit)
        {
            while (Next(ref position, limit, out var field, out _, out var start, out var end))
            {
                var read = field switch
                {
                    (1 << 3) | DelimitedType => ReadPeer(attributes.Source ??= new AttributeContext.Types.Peer(), start, end, source: true),
                    (2 << 3) | DelimitedType => ReadPeer(attributes.Destination ??= new AttributeContext.Types.Peer(), start, end, source: false),
                    (4 << 3) | DelimitedType => ReadRequest(attributes.Request ??= new AttributeContext.Types.Request(), start, end),
                    (10 << 3) | DelimitedType => ReadStringEntry(attributes.ContextExtensions, start, end),
                    (12 << 3) | DelimitedType => ReadTlsSession(attributes.TlsSession ??= new AttributeContext.Types.TLSSession(), start, end),
                    _ => true,
                };
                if (!read)
                {
                    return false;
                }
            }

            return position == limit;
        }

        private bool ReadPeer(AttributeContext.Types.Peer peer, int position, int limit, bool source)
        {
            while (Next(ref position, limit, out var field, out _, out var start, out var end))
            {
                bool read;
                switch (field)
                {
                    case (1 << 3) | DelimitedType:
                        read = ReadAddress(peer.Address ??= new Address(), start, end);
                        break;
                    case (2 << 3) | DelimitedType:
                        read = TryString(start, end, out var service);
                        peer.Service = service;
                        break;
                    case (4 << 3) | DelimitedType:
                        // The principal: no Check reads it unmaterialized; checked as protobuf would.
                        read = IsUtf8(start, end);
                        break;
                    case (5 << 3) | DelimitedType:
                        read = IsUtf8(start, end);
                        if (source)
                        {
                            (CertificateStart, CertificateLength) = (start, end - start);
                        }

                        break;
                    default:
                        read = true;
                        break;
                }

                if (!read)
                {
                    return false;
                }
            }

            return position == limit;
        }

        private readonly bool ReadAddress(Address address, int position, int limit)
        {
            while (Next(ref position, limit, out var field, out _, out var start, out var end))
            {
                switch (field)
                {
                    case (1 << 3) | DelimitedType:
                        // A oneof member: sent again, it merges only into a socket address (the generated code's rule).
                        var socket = address.AddressCase == Address.AddressOneofCase.SocketAddress ? address.SocketAddress : new SocketAddress();
                        if (!ReadSocketAddress(socket, start, end))
                        {
                            return false;
                        }

                        address.SocketAddress = socket;
                        break;
                    case (2 << 3) | DelimitedType or (3 << 3) | DelimitedType:
                        return false;
                }
            }

            return position == limit;
        }

        private readonly bool ReadSocketAddress(SocketAddress socket, int position, int limit)
        {
            while (Next(ref position, limit, out var field, out var value, out var start, out var end))
            {
                bool read;
                switch (field)
                {
                    case (1 << 3) | VarintType:
                        socket.Protocol = (SocketAddress.Types.Protocol)(int)value;
                        read = true;
                        break;
                    case (2 << 3) | DelimitedType:
                        read = TryString(start, end, out var ip);
                        socket.Address = ip;
                        break;
                    case (3 << 3) | VarintType:
                        socket.PortValue = (uint)value;
                        read = true;
                        break;
                    case (4 << 3) | DelimitedType:
                        read = TryString(start, end, out var named);
                        socket.NamedPort = named;
                        break;
                    case (5 << 3) | DelimitedType:
                        read = TryString(start, end, out var resolver);
                        socket.ResolverName = resolver;
                        break;
                    case (6 << 3) | VarintType:
                        socket.Ipv4Compat = value != 0;
                        read = true;
                        break;
                    default:
                        read = true;
                        break;
                }

                if (!read)
                {
                    return false;
                }
            }

            return position == limit;
        }

        private bool ReadRequest(AttributeContext.Types.Request request, int position, int limit)
        {
            while (Next(ref position, limit, out var field, out _, out var start, out var end))
            {
                if (field == Delimited(2) && !ReadHttp(request.Http ??= new AttributeContext.Types.HttpRequest(), start, end))
                {
                    return false;
                }
            }

            return position == limit;
        }

        private readonly bool ReadHttp(AttributeContext.Types.HttpRequest http, int position, int limit)
        {
            while (Next(ref position, limit, out var field, out _, out var start, out var end))
            {
                bool read;
                switch (field)
                {
                    case (2 << 3) | DelimitedType:
                        read = TryString(start, end, out var method);
                        http.Method = method;
                        break;
                    case (4 << 3) | DelimitedType:
                        read = TryString(start, end, out var path);
                        http.Path = path;
                        break;
                    case (5 << 3) | DelimitedType:
                        read = TryString(start, end, out var host);
                        http.Host = host;
                        break;
                    case (1 << 3) | DelimitedType or (6 << 3) | DelimitedType or (7 << 3) | DelimitedType or (8 << 3) | DelimitedType
                        or (10 << 3) | DelimitedType or (11 << 3) | DelimitedType:
                        // id, scheme, query, fragment, protocol, body: no Check reads them unmaterialized; checked as protobuf would.
                        read = IsUtf8(start, end);
                        break;
                    default:
                        read = true;
                        break;
                }

                if (!read)
                {
                    return false;
                }
            }

            return position == limit;
        }

        private readonly bool ReadTlsSession(AttributeContext.Types.TLSSession session, int position, int limit)
        {
            while (Next(ref position, limit, out var field, out _, out var start, out var end))
            {
                if (field == Delimited(1))
                {
                    if (!TryString(start, end, out var sni))
                    {
                        return false;
                    }

                    session.Sni = sni;
                }
            }

            return position == limit;
        }

        /// <summary>A <c>map&lt;string, string&gt;</c> entry: its key and value (each the last sent, else empty); it replaces any earlier entry for its key.</summary>
        private readonly bool ReadStringEntry(Google.Protobuf.Collections.MapField<string, string> map, int position, int limit)
        {
            string key = string.Empty, value = string.Empty;
            while (Next(ref position, limit, out var field, out _, out var start, out var end))
            {
                var read = field switch
                {
                    (1 << 3) | DelimitedType => TryString(start, end, out key),
                    (2 << 3) | DelimitedType => TryString(start, end, out value),
                    _ => true,
                };
                if (!read)
                {
                    return false;
                }
            }

            if (position != limit)
            {
                return false;
            }

            map[key] = value;
            return true;
        }

        private readonly bool TryString(int start, int end, out string value)
        {
            var content = input[start..end];
            var valid = Utf8.IsValid(content);
            value = valid ? Encoding.UTF8.GetString(content) : string.Empty;
            return valid;
        }

        private readonly bool IsUtf8(int start, int end) => Utf8.IsValid(input[start..end]);

        /// <summary>
        /// Reads the next field before <paramref name="limit"/>: its tag as <paramref name="field"/>, a
        /// varint's <paramref name="value"/>, a length-delimited field's content as
        /// <paramref name="start"/>..<paramref name="end"/> (fixed-width fields are stepped over), and
        /// <paramref name="position"/> past it. False at <paramref name="limit"/>; false with
        /// <paramref name="position"/> set past it, which the caller refuses, where a field is not
        /// well-formed or is a group.
        /// </summary>
        private readonly bool Next(ref int position, int limit, out uint field, out ulong value, out int start, out int end)
        {
            start = end = 0;
            value = 0;
            field = 0;
            if (position >= limit)
            {
                return false;
            }

            if (TryVarint(ref position, limit, out var tag) && tag >> 3 != 0 && tag <= uint.MaxValue)
            {
                field = (uint)tag;
                switch (tag & 7)
                {
                    case VarintType when TryVarint(ref position, limit, out value):
                        return true;
                    case 1 when limit - position >= 8:
                        position += 8;
                        return true;
                    case 5 when limit - position >= 4:
                        position += 4;
                        return true;
                    case DelimitedType when TryVarint(ref position, limit, out var length) && length <= (ulong)(limit - position):
                        start = position;
                        end = position + (int)length;
                        position = end;
                        return true;
                }
            }

            // Not well-formed, or a group (deprecated; Envoy never sends one): Google.Protobuf decides.
            position = int.MaxValue;
            return false;
        }

        private readonly bool TryVarint(ref int position, int limit, out ulong value)
        {
            value = 0;
            for (var shift = 0; shift < 64 && position < limit; shift += 7)
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

        private static uint Delimited(int field) => ((uint)field << 3) | DelimitedType;
    }
}
