using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace ExtAuthz.Envoy.ControlPlane;

/// <summary>
/// A control-plane request's raw <c>:path</c>, read by the data plane's rules (docs/data-plane.md, "Reading
/// the path"): printable ASCII only, whole <c>%XX</c> escapes, no empty or dot segment, parameters
/// percent-decoded exactly once and then strictly UTF-8-decoded. <see cref="Read"/> checks the whole path
/// and locates the first <see cref="Tracked"/> segments on the caller's stack; the rest compares in place.
/// </summary>
internal readonly ref struct ControlPath
{
    /// <summary>The longest control-plane route has four segments (<c>/policies/{policyName}/version/{policyVersionId}</c>).</summary>
    public const int Tracked = 4;

    private readonly string raw;
    private readonly ReadOnlySpan<int> starts;
    private readonly ReadOnlySpan<int> ends;
    private readonly int query;

    private ControlPath(string raw, ReadOnlySpan<int> starts, ReadOnlySpan<int> ends, int count, int query)
    {
        this.raw = raw;
        this.starts = starts;
        this.ends = ends;
        Count = count;
        this.query = query;
    }

    /// <summary>How many segments the path has (0 for <c>/</c>); only the first <see cref="Tracked"/> can be read.</summary>
    public int Count { get; }

    /// <summary>
    /// Checks <paramref name="rawPath"/> and locates its segments in <paramref name="starts"/> and
    /// <paramref name="ends"/> (each <see cref="Tracked"/> long); a 400 reason when it breaks a rule.
    /// </summary>
    public static string? Read(string rawPath, Span<int> starts, Span<int> ends, out ControlPath path)
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
                    ? "the path ends with '/'; AWS IoT's control-plane paths have no trailing slash"
                    : $"the path has an empty segment ('//') at offset {start}; AWS IoT's control-plane paths have none";
            }

            if (IsDotSegment(rawPath.AsSpan(start, end - start)))
            {
                return $"the path has a '.' or '..' segment at offset {start}; dot segments are refused as path traversal";
            }

            if (count < Tracked)
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

        path = new ControlPath(rawPath, starts, ends, count, queryAt < 0 ? -1 : queryAt + 1);
        return null;
    }

    /// <summary>Segment <paramref name="segment"/> as sent (not decoded): route words compare literally.</summary>
    public ReadOnlySpan<char> Segment(int segment) => raw.AsSpan(starts[segment], ends[segment] - starts[segment]);

    /// <summary>Segment <paramref name="segment"/> decoded once and strictly UTF-8-decoded; a 400 reason when its bytes are not UTF-8.</summary>
    public string? Decode(int segment, string what, out string value) => Decode(starts[segment], ends[segment], what, out value);

    /// <summary>
    /// How many times the query holds the parameter <paramref name="name"/> (keys decoded once and compared
    /// exactly; pieces split on <c>&amp;</c>, empty ones skipped, a key without <c>=</c> has the empty value);
    /// the value, decoded, in <paramref name="value"/> when it appears exactly once.
    /// </summary>
    public string? Parameter(string name, out int found, out string value)
    {
        found = 0;
        value = "";
        var first = -1;
        var firstEnd = -1;
        for (var i = query; i >= 0 && i <= raw.Length;)
        {
            var amp = raw.IndexOf('&', i);
            var end = amp < 0 ? raw.Length : amp;
            var eq = raw.IndexOf('=', i, end - i);
            if (end > i && KeyIs(i, eq < 0 ? end : eq, name) && found++ == 0)
            {
                first = eq < 0 ? end : eq + 1;
                firstEnd = end;
            }

            if (amp < 0)
            {
                break;
            }

            i = amp + 1;
        }

        return found == 1 ? Decode(first, firstEnd, name, out value) : null;
    }

    /// <summary>Whether raw[start..end], decoded once, is exactly the ASCII text <paramref name="expected"/>; allocates nothing.</summary>
    private bool KeyIs(int start, int end, string expected)
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

    private string? Decode(int start, int end, string what, out string value)
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

    internal static string Describe(char c) => c is > ' ' and < '\x7f' ? $"'{c}'" : $"U+{(int)c:X4}";

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
