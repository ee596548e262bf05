using System.Buffers;
using System.Text;

namespace ExtAuthz.Identity.SigV4;

/// <summary>
/// A growable byte buffer on pooled arrays, for building canonical requests without allocating per
/// request. A mutable struct: pass it by <c>ref</c>, and dispose of it to return the array.
/// </summary>
internal struct Utf8Buffer : IDisposable
{
    private byte[] array;
    private int length;

    public Utf8Buffer(int capacity)
    {
        array = ArrayPool<byte>.Shared.Rent(capacity);
        length = 0;
    }

    public readonly int Length => length;

    public readonly ReadOnlySpan<byte> Written => array.AsSpan(0, length);

    /// <summary>The array behind the buffer, for comparers that hold on to it while sorting (valid until the next write).</summary>
    public readonly byte[] Array => array;

    public readonly ReadOnlySpan<byte> Slice(int start, int count) => array.AsSpan(start, count);

    /// <summary>Forgets everything written from <paramref name="newLength"/> on.</summary>
    public void Truncate(int newLength) => length = Math.Min(length, newLength);

    public void Add(byte value)
    {
        if (length == array.Length)
        {
            Grow(1);
        }

        array[length++] = value;
    }

    public void Add(ReadOnlySpan<byte> bytes)
    {
        if (array.Length - length < bytes.Length)
        {
            Grow(bytes.Length);
        }

        bytes.CopyTo(array.AsSpan(length));
        length += bytes.Length;
    }

    /// <summary>Appends text as UTF-8 (lone surrogates become U+FFFD, as everywhere in .NET).</summary>
    public void AddUtf8(ReadOnlySpan<char> text)
    {
        var most = Encoding.UTF8.GetMaxByteCount(text.Length);
        if (array.Length - length < most)
        {
            Grow(most);
        }

        length += Encoding.UTF8.GetBytes(text, array.AsSpan(length));
    }

    /// <summary>Appends a byte as SigV4's URI encoding writes it: RFC 3986's unreserved characters as they are, anything else as <c>%XX</c> in upper-case hex.</summary>
    public void AddUriEncoded(byte value)
    {
        if (IsUnreserved(value))
        {
            Add(value);
            return;
        }

        if (array.Length - length < 3)
        {
            Grow(3);
        }

        array[length] = (byte)'%';
        array[length + 1] = (byte)"0123456789ABCDEF"[value >> 4];
        array[length + 2] = (byte)"0123456789ABCDEF"[value & 0xF];
        length += 3;
    }

    /// <summary>Appends text, URI-encoded byte by byte after UTF-8 encoding; <paramref name="keepSlash"/> leaves <c>/</c> as it is (paths).</summary>
    public void AddUriEncoded(ReadOnlySpan<char> text, bool keepSlash)
    {
        Span<byte> utf8 = stackalloc byte[4];
        while (!text.IsEmpty)
        {
            var c = text[0];
            if (c < 0x80)
            {
                if (keepSlash && c == '/')
                {
                    Add((byte)'/');
                }
                else
                {
                    AddUriEncoded((byte)c);
                }

                text = text[1..];
                continue;
            }

            Rune.DecodeFromUtf16(text, out var rune, out var consumed);
            var count = rune.EncodeToUtf8(utf8);
            for (var i = 0; i < count; i++)
            {
                AddUriEncoded(utf8[i]);
            }

            text = text[consumed..];
        }
    }

    /// <summary>Appends bytes as lower-case hex digits.</summary>
    public void AddHex(ReadOnlySpan<byte> bytes)
    {
        if (array.Length - length < 2 * bytes.Length)
        {
            Grow(2 * bytes.Length);
        }

        Hex(bytes, array.AsSpan(length));
        length += 2 * bytes.Length;
    }

    /// <summary>Writes bytes as lower-case hex digits (ASCII), two per byte.</summary>
    public static void Hex(ReadOnlySpan<byte> bytes, Span<byte> destination)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            destination[2 * i] = (byte)"0123456789abcdef"[bytes[i] >> 4];
            destination[2 * i + 1] = (byte)"0123456789abcdef"[bytes[i] & 0xF];
        }
    }

    public void Dispose()
    {
        var rented = array;
        array = [];
        length = 0;
        if (rented.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public static bool IsUnreserved(byte value) =>
        value is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9' or (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~';

    private void Grow(int needed)
    {
        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(array.Length * 2, length + needed));
        array.AsSpan(0, length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(array);
        array = larger;
    }
}
