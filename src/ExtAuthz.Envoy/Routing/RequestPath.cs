using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace ExtAuthz.Envoy.Routing;

/// <summary>
/// A request's raw <c>:path</c> (query included), read by the one set of rules both route tables share
/// (docs/data-plane.md, "Reading the path"): printable ASCII only, whole <c>%XX</c> escapes, no empty or
/// dot segment, parameters percent-decoded exactly once and then strictly UTF-8-decoded. One reader, so
/// that a path cannot be read one way on the data plane and another on the control plane.
/// <see cref="Read"/> checks the whole path and locates the first segments on the caller's stack; the rest
/// compares in place, so only decoded values allocate.
/// </summary>
/// <remarks>
/// Offsets (<see cref="Start"/>, <see cref="End"/>, a parameter's value) index the raw path, so a reason
/// can point at the character the client sent.
/// </remarks>
internal readonly ref struct RequestPath
{
    private readonly string raw;
    private readonly ReadOnlySpan<int> starts;
    private readonly ReadOnlySpan<int> ends;
    private readonly int query;

    private RequestPath(string raw, ReadOnlySpan<int> starts, ReadOnlySpan<int> ends, int count, int pathEnd, int query)
    {
        this.raw = raw;
        this.starts = starts;
        this.ends = ends;
        Count = count;
        PathEnd = pathEnd;
        this.query = query;
    }

    /// <summary>How many segments the path has (0 for <c>/</c>); only as many as the caller's spans hold can be read.</summary>
    public int Count { get; }

    /// <summary>Where the path ends: the offset of the first <c>?</c>, or the raw path's length.</summary>
    public int PathEnd { get; }

    /// <summary>
    /// Checks <paramref name="rawPath"/> and locates its first segments in <paramref name="starts"/> and
    /// <paramref name="ends"/> (of equal length: the most segments the caller's routes read); a 400 reason
    /// when it breaks a rule. <paramref name="plane"/> (<c>data-plane</c>, <c>control-plane</c>) and
    /// <paramref name="emptySegmentAdvice"/> (appended to the empty-segment reason, or empty) word the
    /// refusals of slashes for the table asking, since what a client should send instead differs.
    /// </summary>
    public static string? Read(string rawPath, string plane, string emptySegmentAdvice, Span<int> starts, Span<int> ends, out RequestPath path)
    {
        path = default;
        if (SyntaxError(rawPath) is { } syntax)
        {
            return syntax;
        }

        var queryAt = rawPath.IndexOf('?');
        var pathEnd = queryAt < 0 ? rawPath.Length : queryAt;
        if (pathEnd == 0 || rawPath[0] != '/')
        {
            return "the path must begin with '/'";
        }

        var count = 0;
        for (var start = 1; pathEnd > 1;)
        {
            var slash = rawPath.IndexOf('/', start, pathEnd - start);
            var end = slash < 0 ? pathEnd : slash;
            if (end == start)
            {
                return end == pathEnd
                    ? $"the path ends with '/'; AWS IoT's {plane} paths have no trailing slash"
                    : $"the path has an empty segment ('//') at offset {start}; AWS IoT's {plane} paths have none{emptySegmentAdvice}";
            }

            if (IsDotSegment(rawPath.AsSpan(start, end - start)))
            {
                return $"the path has a '.' or '..' segment at offset {start}; dot segments are refused as path traversal";
            }

            if (count < starts.Length)
            {
                starts[count] = start;
                ends[count] = end;
            }

            count++;
            if (slash < 0)
            {
                break;
            }

            start = slash + 1;
        }

        path = new RequestPath(rawPath, starts, ends, count, pathEnd, queryAt < 0 ? -1 : queryAt + 1);
        return null;
    }

    /// <summary>Where segment <paramref name="segment"/> begins in the raw path.</summary>
    public int Start(int segment) => starts[segment];

    /// <summary>Where segment <paramref name="segment"/> ends (exclusive) in the raw path.</summary>
    public int End(int segment) => ends[segment];

    /// <summary>Segment <paramref name="segment"/> as sent (not decoded): route words compare literally.</summary>
    public ReadOnlySpan<char> Segment(int segment) => raw.AsSpan(starts[segment], ends[segment] - starts[segment]);

    /// <summary>Segment <paramref name="segment"/> decoded once and strictly UTF-8-decoded; a 400 reason when its bytes are not UTF-8.</summary>
    public string? DecodeSegment(int segment, string what, out string value) => Decode(starts[segment], ends[segment], what, out value);

    /// <summary>
    /// How many times the query holds the parameter <paramref name="name"/> (keys decoded once and compared
    /// exactly; pieces split on <c>&amp;</c>, empty ones skipped, a key without <c>=</c> has the empty value);
    /// where the first one's value lies in the raw path, for <see cref="ValueIs"/> or <see cref="Decode"/>.
    /// </summary>
    public int Parameter(string name, out int valueStart, out int valueEnd)
    {
        valueStart = valueEnd = 0;
        var found = 0;
        for (var i = query; i >= 0 && i <= raw.Length;)
        {
            var amp = raw.IndexOf('&', i);
            var end = amp < 0 ? raw.Length : amp;
            var eq = raw.IndexOf('=', i, end - i);
            if (end > i && ValueIs(i, eq < 0 ? end : eq, name) && found++ == 0)
            {
                valueStart = eq < 0 ? end : eq + 1;
                valueEnd = end;
            }

            if (amp < 0)
            {
                break;
            }

            i = amp + 1;
        }

        return found;
    }

    /// <summary>Whether raw[start..end], decoded once, is exactly the ASCII text <paramref name="expected"/>; allocates nothing.</summary>
    public bool ValueIs(int start, int end, string expected)
    {
        var j = 0;
        for (var i = start; i < end; i++, j++)
        {
            var c = raw[i];
            if (c == '%')
            {
                c = (char)((HexValue(raw[i + 1]) << 4) | HexValue(raw[i + 2]));
                i += 2;
            }

            if (j == expected.Length || c != expected[j])
            {
                return false;
            }
        }

        return j == expected.Length;
    }

    /// <summary>raw[start..end] percent-decoded once and strictly UTF-8-decoded; a 400 reason, naming it <paramref name="what"/>, when the bytes are not UTF-8.</summary>
    public string? Decode(int start, int end, string what, out string value)
    {
        var text = raw.AsSpan(start, end - start);
        if (!text.Contains('%'))
        {
            value = text.ToString();
            return null;
        }

        byte[]? rented = null;
        var bytes = text.Length <= 512 ? stackalloc byte[text.Length] : (rented = ArrayPool<byte>.Shared.Rent(text.Length));
        try
        {
            var length = 0;
            for (var i = 0; i < text.Length; i++, length++)
            {
                if (text[i] == '%')
                {
                    bytes[length] = (byte)((HexValue(text[i + 1]) << 4) | HexValue(text[i + 2]));
                    i += 2;
                }
                else
                {
                    bytes[length] = (byte)text[i];
                }
            }

            var decoded = bytes[..length];
            if (Utf8.IsValid(decoded))
            {
                value = Encoding.UTF8.GetString(decoded);
                return null;
            }

            value = "";
            return InvalidUtf8(decoded, text, start, what);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>A character as a reason names it: itself when printable ASCII, else its code point, so control characters stay readable.</summary>
    public static string Describe(char c) => c is > ' ' and < '\x7f' ? $"'{c}'" : $"U+{(int)c:X4}";

    /// <summary>Where decoding failed: the first bad byte's index in the decoded value and the offset of its escape in the path.</summary>
    private static string InvalidUtf8(ReadOnlySpan<byte> decoded, ReadOnlySpan<char> text, int start, string what)
    {
        Utf8.ToUtf16(decoded, new char[decoded.Length], out var good, out _, replaceInvalidSequences: false);
        var i = 0;
        for (var b = 0; b < good; b++)
        {
            i += text[i] == '%' ? 3 : 1;
        }

        return $"the {what} is not valid UTF-8 after percent-decoding: byte {good} of the decoded {what} (offset {start + i} in the path) begins an invalid sequence";
    }

    /// <summary>A character that may not appear raw in a URL, or a malformed <c>%</c> escape; null when neither.</summary>
    private static string? SyntaxError(string rawPath)
    {
        for (var i = 0; i < rawPath.Length; i++)
        {
            var c = rawPath[i];
            if (c is <= ' ' or >= '\x7f')
            {
                return $"{Describe(c)} at offset {i} may not appear in a URL unencoded; percent-encode it";
            }

            if (c == '%' && (i + 2 >= rawPath.Length || !char.IsAsciiHexDigit(rawPath[i + 1]) || !char.IsAsciiHexDigit(rawPath[i + 2])))
            {
                return $"bad percent-encoding at offset {i}: '%' must be followed by two hexadecimal digits";
            }
        }

        return null;
    }

    /// <summary><c>.</c> or <c>..</c>, each dot raw or as <c>%2E</c>/<c>%2e</c>.</summary>
    private static bool IsDotSegment(ReadOnlySpan<char> segment)
    {
        var dots = 0;
        for (var i = 0; i < segment.Length; i++)
        {
            if (segment[i] == '.')
            {
                dots++;
            }
            else if (segment[i] == '%' && i + 2 < segment.Length && segment[i + 1] == '2' && (segment[i + 2] | 0x20) == 'e')
            {
                dots++;
                i += 2;
            }
            else
            {
                return false;
            }
        }

        return dots is 1 or 2;
    }

    /// <summary>The value of a hexadecimal digit <see cref="SyntaxError"/> has already vouched for.</summary>
    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
