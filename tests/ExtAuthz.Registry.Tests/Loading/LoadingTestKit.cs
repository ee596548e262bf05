using ExtAuthz.Registry.Tests.Support;

namespace ExtAuthz.Registry.Tests.Loading;

/// <summary>Shared helpers: a registry header, small policies, and loading that must succeed or must fail.</summary>
internal static class LoadingTestKit
{
    /// <summary>Two lines; registry YAML written after it starts on line 3.</summary>
    public const string Header = "account: \"123456789012\"\nregion: us-east-1\n";

    public static string PolicyJson(string action = "iot:Connect", string resource = "*") =>
        $$"""{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "{{action}}", "Resource": "{{resource}}"}]}""";

    public static RegistrySnapshot Load(params string[] directories) => RegistryLoader.Load(directories);

    public static RegistrySnapshot Load(TempConfigDirectory directory) => RegistryLoader.Load([directory.Path]);

    public static IReadOnlyList<ConfigError> Refuse(params string[] directories) =>
        Assert.Throws<ConfigException>(() => RegistryLoader.Load(directories)).Errors;

    public static IReadOnlyList<ConfigError> Refuse(TempConfigDirectory directory) => Refuse(directory.Path);

    /// <summary>Asserts the only error is in <paramref name="file"/> at the line (and column, when given) with a reason containing <paramref name="reason"/>.</summary>
    public static ConfigError Single(IReadOnlyList<ConfigError> errors, string file, int line, string reason, int? column = null)
    {
        var error = Assert.Single(errors);
        AssertError(error, file, line, reason, column);
        return error;
    }

    /// <summary>Asserts some error matches the file, line, column and reason.</summary>
    public static ConfigError Has(IReadOnlyList<ConfigError> errors, string file, int line, string reason, int? column = null)
    {
        var match = errors.FirstOrDefault(e => e.File == file && e.Line == line && e.Reason.Contains(reason, StringComparison.Ordinal) && (column is null || e.Column == column));
        Assert.True(match is not null, $"expected {file}:{line}:{column}: ...{reason}... among:\n{string.Join('\n', errors)}");
        return match!;
    }

    public static void AssertError(ConfigError error, string file, int line, string reason, int? column = null)
    {
        Assert.Equal(file, error.File);
        Assert.Equal(line, error.Line);
        if (column is { } c)
        {
            Assert.Equal(c, error.Column);
        }

        Assert.Contains(reason, error.Reason, StringComparison.Ordinal);
    }
}
