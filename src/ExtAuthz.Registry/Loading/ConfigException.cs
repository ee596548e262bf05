namespace ExtAuthz.Registry;

/// <summary>One problem in a configuration: the file, 1-based line and column (0 when it has none) and the reason.</summary>
public sealed record ConfigError(string File, int Line, int Column, string Reason)
{
    public override string ToString() => Line > 0 ? $"{File}:{Line}:{Column}: {Reason}" : $"{File}: {Reason}";
}

/// <summary>
/// A configuration that cannot be loaded, with every problem found. Loading is all-or-nothing: when
/// this is thrown, nothing of the new configuration is used.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(IReadOnlyList<ConfigError> errors)
        : base(Describe(errors))
    {
        Errors = errors;
    }

    public ConfigException()
        : this([])
    {
    }

    public ConfigException(string message)
        : this([new ConfigError("", 0, 0, message)])
    {
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [new ConfigError("", 0, 0, message)];
    }

    public IReadOnlyList<ConfigError> Errors { get; }

    private static string Describe(IReadOnlyList<ConfigError> errors) => errors.Count switch
    {
        0 => "invalid configuration",
        1 => errors[0].ToString(),
        _ => $"{errors.Count} configuration errors:\n" + string.Join('\n', errors.Select(e => "  " + e)),
    };
}
