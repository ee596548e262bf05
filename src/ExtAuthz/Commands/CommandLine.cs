namespace ExtAuthz.Commands;

/// <summary>What every command does before its own work: answer <c>--help</c>, and turn a flag parser's complaint into a usage error.</summary>
internal static class CommandLine
{
    /// <summary>
    /// Parses <paramref name="args"/> with <paramref name="parse"/> (which throws ArgumentException on a bad
    /// command line). Returns the options, or null with <paramref name="exit"/> set when the command is
    /// already done: help printed (0) or a usage error reported with the help (64).
    /// </summary>
    public static async Task<(T? Options, int Exit)> ParseAsync<T>(string[] args, string name, string help, Func<string[], T> parse,
        TextWriter stdout, TextWriter stderr)
        where T : class
    {
        if (args is ["--help" or "-h"])
        {
            await stdout.WriteLineAsync(help).ConfigureAwait(false);
            return (null, Cli.ExitOk);
        }

        try
        {
            return (parse(args), Cli.ExitOk);
        }
        catch (ArgumentException ex)
        {
            await stderr.WriteLineAsync($"{name}: {ex.Message}\n\n{help}").ConfigureAwait(false);
            return (null, Cli.ExitUsage);
        }
    }
}
