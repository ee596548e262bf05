namespace ExtAuthz.Policy;

/// <summary>
/// The value of one request-context key: a single string or a set of strings (multi-valued keys such
/// as <c>iot:ConnectAttributes</c>). An empty string is a value; an empty set is a present key with no values.
/// </summary>
public readonly struct ContextValue
{
    private readonly string? single;
    private readonly string[]? many;

    public ContextValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        single = value;
    }

    public ContextValue(string[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        many = values;
    }

    /// <summary>True for a set (even of one element); only single values may be substituted as variables.</summary>
    public bool IsMultiValued => many is not null;

    public int Count => many?.Length ?? (single is null ? 0 : 1);

    public string this[int index] => many is not null ? many[index] : index == 0 && single is not null ? single : throw new ArgumentOutOfRangeException(nameof(index));

    /// <summary>The single value, or null for a set.</summary>
    public string? Single => single;

    public static implicit operator ContextValue(string value) => new(value);

    public static implicit operator ContextValue(string[] values) => new(values);

    public static ContextValue FromString(string value) => new(value);

    public static ContextValue FromStringArray(string[] values) => new(values);
}

/// <summary>Where the evaluator looks up condition keys and policy variables. Key names are case-insensitive.</summary>
public interface IRequestContext
{
    bool TryGetValue(string key, out ContextValue value);
}

/// <summary>A request context held in a dictionary with case-insensitive keys, as AWS treats key names.</summary>
public sealed class RequestContext : IRequestContext
{
    private readonly Dictionary<string, ContextValue> values = new(StringComparer.OrdinalIgnoreCase);

    public static IRequestContext Empty { get; } = new RequestContext();

    public int Count => values.Count;

    public IEnumerable<string> Keys => values.Keys;

    public RequestContext Set(string key, string value)
    {
        values[key] = new ContextValue(value);
        return this;
    }

    public RequestContext Set(string key, string[] value)
    {
        values[key] = new ContextValue(value);
        return this;
    }

    public bool TryGetValue(string key, out ContextValue value) => values.TryGetValue(key, out value);
}
