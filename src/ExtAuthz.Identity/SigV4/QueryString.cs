using System.Buffers;
using System.Text;

namespace ExtAuthz.Identity.SigV4;

/// <summary>
/// A raw query string (the part of <c>:path</c> after <c>?</c>) read parameter by parameter, without
/// copying it. Parameters are separated by <c>&amp;</c>; a parameter without <c>=</c> has an empty value;
/// empty parameters (<c>a=1&amp;&amp;b=2</c>) are skipped. Percent-escapes are decoded as SigV4 does
/// (aws-c-auth decodes, then encodes again): <c>+</c> is a plus sign, not a space.
/// </summary>
internal static class QueryString
{
    /// <summary>One parameter: its raw (still encoded) name and value.</summary>
    public readonly ref struct Parameter(ReadOnlySpan<char> name, ReadOnlySpan<char> value)
    {
        public ReadOnlySpan<char> Name { get; } = name;

        public ReadOnlySpan<char> Value { get; } = value;
    }

    public ref struct Enumerator(ReadOnlySpan<char> query)
    {
        private ReadOnlySpan<char> rest = query;

        public Parameter Current { get; private set; }

        public readonly Enumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            while (!rest.IsEmpty)
            {
                var end = rest.IndexOf('&');
                var item = end < 0 ? rest : rest[..end];
                rest = end < 0 ? [] : rest[(end + 1)..];
                if (item.IsEmpty)
                {
                    continue;
                }

                var equals = item.IndexOf('=');
                Current = equals < 0 ? new Parameter(item, []) : new Parameter(item[..equals], item[(equals + 1)..]);
                return true;
            }

            return false;
        }
    }

    public static Enumerator Parameters(ReadOnlySpan<char> query) => new(query);

    /// <summary>Whether the raw (encoded) <paramref name="raw"/> decodes to the ASCII <paramref name="name"/>, exactly (names are case-sensitive).</summary>
    public static bool NameIs(ReadOnlySpan<char> raw, ReadOnlySpan<char> name)
    {
        if (raw.SequenceEqual(name))
        {
            return true;
        }

        var j = 0;
        for (var i = 0; i < raw.Length; i++, j++)
        {
            int c = raw[i];
            if (c == '%')
            {
                if (!TryHexByte(raw, i, out var b))
                {
                    return false;
                }

                c = b;
                i += 2;
            }

            if (j >= name.Length || name[j] != c)
            {
                return false;
            }
        }

        return j == name.Length;
    }

    /// <summary>
    /// Finds the parameter named <paramref name="name"/>: the raw value of its first occurrence and how
    /// many times it occurs.
    /// </summary>
    public static int Find(ReadOnlySpan<char> query, ReadOnlySpan<char> name, out ReadOnlySpan<char> rawValue)
    {
        rawValue = default;
        var count = 0;
        foreach (var parameter in Parameters(query))
        {
            if (NameIs(parameter.Name, name) && count++ == 0)
            {
                rawValue = parameter.Value;
            }
        }

        return count;
    }

    /// <summary>
    /// Decodes percent-escapes (as UTF-8) into <paramref name="destination"/>, which needs no more room
    /// than the raw text (an escape is three characters for at most one). False on a malformed escape.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<char> raw, Span<char> destination, out int written)
    {
        written = 0;
        var bytes = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(raw.Length));
        try
        {
            var count = 0;
            while (!raw.IsEmpty)
            {
                var escape = raw.IndexOf('%');
                count += Encoding.UTF8.GetBytes(escape < 0 ? raw : raw[..escape], bytes.AsSpan(count));
                if (escape < 0)
                {
                    break;
                }

                if (!TryHexByte(raw, escape, out var b))
                {
                    return false;
                }

                bytes[count++] = b;
                raw = raw[(escape + 3)..];
            }

            var decoded = bytes.AsSpan(0, count);
            if (Encoding.UTF8.GetCharCount(decoded) > destination.Length)
            {
                return false;
            }

            written = Encoding.UTF8.GetChars(decoded, destination);
            return true;
        }
        finally
        {
            // The bytes may be a session token: do not leave them in a pooled array.
            ArrayPool<byte>.Shared.Return(bytes, clearArray: true);
        }
    }

    /// <summary>
    /// Appends the raw text as SigV4's canonical query encoding: decoded, then each byte URI-encoded
    /// (unreserved characters as they are, the rest <c>%XX</c>). False on a malformed escape.
    /// </summary>
    public static bool TryAddCanonical(ref Utf8Buffer buffer, ReadOnlySpan<char> raw)
    {
        while (!raw.IsEmpty)
        {
            var escape = raw.IndexOf('%');
            var literal = escape < 0 ? raw : raw[..escape];
            buffer.AddUriEncoded(literal, keepSlash: false);
            if (escape < 0)
            {
                return true;
            }

            if (!TryHexByte(raw, escape, out var b))
            {
                return false;
            }

            buffer.AddUriEncoded(b);
            raw = raw[(escape + 3)..];
        }

        return true;
    }

    /// <summary>The byte of the escape <c>%XX</c> at <paramref name="index"/>; false when two hex digits do not follow.</summary>
    private static bool TryHexByte(ReadOnlySpan<char> text, int index, out byte value)
    {
        value = 0;
        if (index + 3 > text.Length)
        {
            return false;
        }

        var high = HexValue(text[index + 1]);
        var low = HexValue(text[index + 2]);
        if (high < 0 || low < 0)
        {
            return false;
        }

        value = (byte)(high << 4 | low);
        return true;
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'A' and <= 'F' => c - 'A' + 10,
        >= 'a' and <= 'f' => c - 'a' + 10,
        _ => -1,
    };
}
