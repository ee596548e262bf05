using System.Text;
using System.Text.Json;

namespace ExtAuthz.Policy.Parsing;

internal enum JsonKind : byte
{
    Object,
    Array,
    String,
    Number,
    True,
    False,
    Null,
}

/// <summary>A parsed JSON value that remembers where it stood, so errors can name line and column.</summary>
internal sealed class JsonNode
{
    public JsonNode(JsonKind kind, long offset)
    {
        Kind = kind;
        Offset = offset;
    }

    public JsonKind Kind { get; }

    /// <summary>Byte offset of the value's first token in the UTF-8 document.</summary>
    public long Offset { get; }

    /// <summary>String content, number text, or null for containers and literals.</summary>
    public string? Text { get; init; }

    public List<JsonNode>? Items { get; init; }

    public List<JsonProperty>? Properties { get; init; }

    public string KindName => Kind switch
    {
        JsonKind.Object => "an object",
        JsonKind.Array => "an array",
        JsonKind.String => "a string",
        JsonKind.Number => "a number",
        JsonKind.True or JsonKind.False => "a boolean",
        _ => "null",
    };
}

internal readonly record struct JsonProperty(string Name, long NameOffset, JsonNode Value);

/// <summary>
/// Strict JSON (RFC 8259, as AWS accepts it): no comments, no trailing commas, no whitespace other
/// than space, tab, CR and LF, one value per document, and no duplicate keys in an object.
/// </summary>
internal sealed class JsonTree
{
    private readonly byte[] utf8;

    private JsonTree(byte[] utf8, JsonNode root)
    {
        this.utf8 = utf8;
        Root = root;
    }

    public JsonNode Root { get; }

    public static JsonTree Parse(string policyName, string text, int maxDepth)
    {
        byte[] bytes;
        try
        {
            bytes = StrictUtf8.GetBytes(text);
        }
        catch (EncoderFallbackException ex)
        {
            var (line, column) = PositionIn(Encoding.UTF8.GetBytes(text[..ex.Index]), long.MaxValue);
            throw new PolicyParseException(policyName, "", line, column, "unpaired UTF-16 surrogate (not a Unicode character)");
        }

        var span = bytes.AsSpan();
        if (span.StartsWith("\uFEFF"u8))
        {
            bytes = bytes[3..];
        }

        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions
        {
            CommentHandling = JsonCommentHandling.Disallow,
            AllowTrailingCommas = false,
            MaxDepth = maxDepth,
        });
        JsonNode root;
        try
        {
            if (!reader.Read())
            {
                throw new PolicyParseException(policyName, "", 0, 0, "the document is empty");
            }

            var builder = new Builder(policyName, bytes);
            root = builder.ReadValue(ref reader, "");
            if (reader.Read())
            {
                throw builder.Error("", reader.TokenStartIndex, "unexpected content after the end of the document");
            }
        }
        catch (JsonException ex)
        {
            var line = (int)(ex.LineNumber ?? 0) + 1;
            var column = ColumnOf(bytes, line - 1, (int)(ex.BytePositionInLine ?? 0));
            throw new PolicyParseException(policyName, "", line, column, DescribeReaderError(ex.Message, maxDepth));
        }

        return new JsonTree(bytes, root);
    }

    /// <summary>1-based line and column (in characters) of a byte offset; only errors need it.</summary>
    public (int Line, int Column) Position(long offset) => PositionIn(utf8, offset);

    private static (int Line, int Column) PositionIn(byte[] bytes, long offset)
    {
        var end = (int)Math.Min(offset, bytes.Length);
        var line = 1;
        var start = 0;
        for (var i = 0; i < end; i++)
        {
            if (bytes[i] == (byte)'\n')
            {
                line++;
                start = i + 1;
            }
        }

        return (line, Encoding.UTF8.GetCharCount(bytes, start, end - start) + 1);
    }

    private static int ColumnOf(byte[] bytes, int lineIndex, int bytePositionInLine)
    {
        var start = 0;
        for (var line = 0; line < lineIndex && start < bytes.Length; start++)
        {
            if (bytes[start] == (byte)'\n')
            {
                line++;
            }
        }

        var length = Math.Clamp(bytePositionInLine, 0, bytes.Length - start);
        return Encoding.UTF8.GetCharCount(bytes, start, length) + 1;
    }

    private static string DescribeReaderError(string message, int maxDepth)
    {
        if (message.Contains("trailing comma", StringComparison.OrdinalIgnoreCase))
        {
            return "trailing comma (JSON allows none)";
        }

        // Outside strings a '/' can only start a comment; the reader names just the character.
        if (message.Contains("comment", StringComparison.OrdinalIgnoreCase) || message.StartsWith("'/'", StringComparison.Ordinal))
        {
            return "comments are not allowed in JSON";
        }

        if (message.Contains("depth", StringComparison.OrdinalIgnoreCase))
        {
            return $"nesting deeper than {maxDepth} levels";
        }

        if (message.Contains("0xC2", StringComparison.OrdinalIgnoreCase) || message.Contains("0xA0", StringComparison.OrdinalIgnoreCase))
        {
            return "invalid character (a no-break space U+00A0 is not JSON whitespace)";
        }

        // The reader's own text names the token; drop its position suffix, which we give separately.
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        var reason = (cut > 0 ? message[..cut] : message).TrimEnd('.', ' ');
        return reason.Length == 0 ? "invalid JSON" : char.ToLowerInvariant(reason[0]) + reason[1..];
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private sealed class Builder(string policyName, byte[] bytes)
    {
        /// <summary>A string token's text; a \u escape naming half a surrogate pair is refused here.</summary>
        private string ReadString(ref Utf8JsonReader reader, string path)
        {
            try
            {
                return reader.GetString()!;
            }
            catch (InvalidOperationException)
            {
                throw Error(path, reader.TokenStartIndex, "invalid \\u escape: an unpaired UTF-16 surrogate is not a Unicode character");
            }
        }

        public PolicyParseException Error(string path, long offset, string reason)
        {
            var (line, column) = PositionIn(bytes, offset);
            return new PolicyParseException(policyName, path, line, column, reason);
        }

        public JsonNode ReadValue(ref Utf8JsonReader reader, string path)
        {
            var offset = reader.TokenStartIndex;
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    {
                        var properties = new List<JsonProperty>();
                        var seen = new HashSet<string>(StringComparer.Ordinal);
                        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                        {
                            var nameOffset = reader.TokenStartIndex;
                            var name = ReadString(ref reader, path);
                            var childPath = path.Length == 0 ? name : path + "." + name;
                            if (!seen.Add(name))
                            {
                                throw Error(childPath, nameOffset, $"duplicate key '{name}' (ambiguous, so refused)");
                            }

                            reader.Read();
                            properties.Add(new JsonProperty(name, nameOffset, ReadValue(ref reader, childPath)));
                        }

                        return new JsonNode(JsonKind.Object, offset) { Properties = properties };
                    }

                case JsonTokenType.StartArray:
                    {
                        var items = new List<JsonNode>();
                        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                        {
                            items.Add(ReadValue(ref reader, $"{path}[{items.Count}]"));
                        }

                        return new JsonNode(JsonKind.Array, offset) { Items = items };
                    }

                case JsonTokenType.String:
                    return new JsonNode(JsonKind.String, offset) { Text = ReadString(ref reader, path) };
                case JsonTokenType.Number:
                    return new JsonNode(JsonKind.Number, offset) { Text = Encoding.UTF8.GetString(reader.ValueSpan) };
                case JsonTokenType.True:
                    return new JsonNode(JsonKind.True, offset) { Text = "true" };
                case JsonTokenType.False:
                    return new JsonNode(JsonKind.False, offset) { Text = "false" };
                default:
                    return new JsonNode(JsonKind.Null, offset);
            }
        }
    }
}
