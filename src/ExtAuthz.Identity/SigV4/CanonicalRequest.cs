using System.Buffers;

namespace ExtAuthz.Identity.SigV4;

/// <summary>
/// The pieces of SigV4's canonical request, written as AWS writes them for every service but S3
/// (AWS's "Create a canonical request"; aws-c-auth is the reference implementation, and its signing
/// test suite the reference data):
/// <code>
/// METHOD \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n HashedPayload
/// </code>
/// </summary>
internal static class CanonicalRequest
{
    /// <summary>The whitespace SigV4 trims from header values and squeezes inside them (C's isspace).</summary>
    private const string WhitespaceCharacters = " \t\n\v\f\r";

    private static readonly SearchValues<char> Whitespace = SearchValues.Create(WhitespaceCharacters);

    /// <summary>
    /// <c>METHOD\nCanonicalURI\n</c>. The URI is the raw path normalised (empty and <c>.</c> segments
    /// dropped, <c>..</c> removing the one before; a trailing <c>/</c> kept) and then URI-encoded once
    /// more, each segment on its own: the raw path is already encoded once, so the logical path
    /// ends up encoded twice, which is AWS's rule for services other than S3.
    /// </summary>
    public static void AddMethodAndPath(ref Utf8Buffer buffer, string method, ReadOnlySpan<char> path)
    {
        buffer.AddUtf8(method);
        buffer.Add((byte)'\n');
        var segments = ArrayPool<Range>.Shared.Rent(path.Count('/') + 1);
        try
        {
            var count = 0;
            var start = 0;
            while (start <= path.Length)
            {
                var slash = path[start..].IndexOf('/');
                var end = slash < 0 ? path.Length : start + slash;
                var segment = path[start..end];
                if (segment is "..")
                {
                    count = Math.Max(0, count - 1);
                }
                else if (segment is not ("" or "."))
                {
                    segments[count++] = new Range(start, end);
                }

                start = end + 1;
            }

            var trailingSlash = path.Length > 0 && path[^1] == '/';
            buffer.Add((byte)'/');
            for (var i = 0; i < count; i++)
            {
                buffer.AddUriEncoded(path[segments[i]], keepSlash: false);
                if (i + 1 < count || trailingSlash)
                {
                    buffer.Add((byte)'/');
                }
            }
        }
        finally
        {
            ArrayPool<Range>.Shared.Return(segments);
        }

        buffer.Add((byte)'\n');
    }

    /// <summary>
    /// The canonical query string: each parameter's name and value decoded and URI-encoded again, sorted
    /// by encoded name and then value, <c>name=value</c> joined by <c>&amp;</c>. A presigned URL's
    /// <c>X-Amz-Signature</c> is left out, and so is <c>X-Amz-Security-Token</c> when
    /// <paramref name="omitToken"/> (AWS IoT's form). Null, or why a parameter cannot be decoded.
    /// </summary>
    public static string? AddQuery(ref Utf8Buffer buffer, ReadOnlySpan<char> query, bool presigned, bool omitToken)
    {
        if (query.IsEmpty)
        {
            return null;
        }

        var entries = ArrayPool<Entry>.Shared.Rent(query.Count('&') + 1);
        var text = new Utf8Buffer(query.Length * 2 + 16);
        try
        {
            var count = 0;
            foreach (var parameter in QueryString.Parameters(query))
            {
                var nameStart = text.Length;
                if (!QueryString.TryAddCanonical(ref text, parameter.Name))
                {
                    return $"the query parameter name '{SigV4Claim.Shorten(parameter.Name)}' has a malformed percent-escape";
                }

                var name = text.Slice(nameStart, text.Length - nameStart);
                if ((presigned && name.SequenceEqual("X-Amz-Signature"u8)) || (omitToken && name.SequenceEqual("X-Amz-Security-Token"u8)))
                {
                    text.Truncate(nameStart);
                    continue;
                }

                var valueStart = text.Length;
                if (!QueryString.TryAddCanonical(ref text, parameter.Value))
                {
                    return $"the value of query parameter '{SigV4Claim.Shorten(parameter.Name)}' has a malformed percent-escape";
                }

                entries[count++] = new Entry(nameStart, valueStart - nameStart, valueStart, text.Length - valueStart);
            }

            Sort(entries.AsSpan(0, count), new Order(text.Array));
            for (var i = 0; i < count; i++)
            {
                if (i > 0)
                {
                    buffer.Add((byte)'&');
                }

                buffer.Add(text.Slice(entries[i].NameStart, entries[i].NameLength));
                buffer.Add((byte)'=');
                buffer.Add(text.Slice(entries[i].ValueStart, entries[i].ValueLength));
            }

            return null;
        }
        finally
        {
            text.Dispose();
            ArrayPool<Entry>.Shared.Return(entries);
        }
    }

    /// <summary>
    /// <c>name:value\n</c> for each signed header, then <c>\n</c>, the signed header list and <c>\n</c>.
    /// <c>host</c> is the request's authority; other values are every entry of that name, each trimmed
    /// with inner whitespace squeezed to one space, joined by commas. The list has been checked (names
    /// lower-case, sorted, once each). Null, or which signed header the request lacks.
    /// </summary>
    public static string? AddHeaders(ref Utf8Buffer buffer, SignedHttpRequest request, ReadOnlySpan<char> signedHeaders)
    {
        foreach (var range in signedHeaders.Split(';'))
        {
            var name = signedHeaders[range];
            buffer.AddUtf8(name);
            buffer.Add((byte)':');
            if (name is "host")
            {
                AddValue(ref buffer, request.Host);
            }
            else
            {
                var found = false;
                var headers = request.Headers;
                for (var i = 0; i < headers.Count; i++)
                {
                    if (headers[i].Key.AsSpan().SequenceEqual(name))
                    {
                        if (found)
                        {
                            buffer.Add((byte)',');
                        }

                        AddValue(ref buffer, headers[i].Value);
                        found = true;
                    }
                }

                if (!found)
                {
                    return $"the signed header '{name}' is not in the request (a proxy that filters headers must pass on every signed one)";
                }
            }

            buffer.Add((byte)'\n');
        }

        buffer.Add((byte)'\n');
        buffer.AddUtf8(signedHeaders);
        buffer.Add((byte)'\n');
        return null;
    }

    private static void AddValue(ref Utf8Buffer buffer, ReadOnlySpan<char> value)
    {
        value = value.Trim(WhitespaceCharacters);
        while (!value.IsEmpty)
        {
            var space = value.IndexOfAny(Whitespace);
            if (space < 0)
            {
                buffer.AddUtf8(value);
                return;
            }

            buffer.AddUtf8(value[..space]);
            buffer.Add((byte)' ');
            value = value[space..].TrimStart(WhitespaceCharacters);
        }
    }

    /// <summary>
    /// Insertion sort for the few parameters requests have, which allocates nothing (the framework's sort
    /// boxes the comparer); the framework's for many.
    /// </summary>
    private static void Sort(Span<Entry> entries, Order order)
    {
        if (entries.Length > 16)
        {
            entries.Sort(order);
            return;
        }

        for (var i = 1; i < entries.Length; i++)
        {
            var entry = entries[i];
            var j = i - 1;
            for (; j >= 0 && order.Compare(entries[j], entry) > 0; j--)
            {
                entries[j + 1] = entries[j];
            }

            entries[j + 1] = entry;
        }
    }

    private readonly record struct Entry(int NameStart, int NameLength, int ValueStart, int ValueLength);

    /// <summary>By encoded name, then encoded value, byte by byte.</summary>
    private readonly struct Order(byte[] text) : IComparer<Entry>
    {
        public int Compare(Entry x, Entry y)
        {
            var byName = text.AsSpan(x.NameStart, x.NameLength).SequenceCompareTo(text.AsSpan(y.NameStart, y.NameLength));
            return byName != 0 ? byName : text.AsSpan(x.ValueStart, x.ValueLength).SequenceCompareTo(text.AsSpan(y.ValueStart, y.ValueLength));
        }
    }
}
