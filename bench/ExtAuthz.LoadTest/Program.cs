namespace ExtAuthz.LoadTest;

public static class Program
{
    private const string Usage = $"""
        ExtAuthz.LoadTest: the Check service against a no-op Check server, under the same load.

          run [flags]                 start both servers and measure them (flags: 'run --help')
          noop-server --listen ADDRESS:PORT
                                      serve the no-op Check alone (what 'run' starts)

        {RunOptions.Usage}
        """;

    public static async Task<int> Main(string[] args)
    {
        switch (args)
        {
            case ["noop-server", ..]:
                return await NoopServer.RunAsync(args[1..]).ConfigureAwait(false);
            case ["run", "--help" or "-h"]:
                Console.WriteLine(RunOptions.Usage);
                return 0;
            case ["run", ..]:
                return await LoadRun.RunAsync(args[1..]).ConfigureAwait(false);
            case ["--help" or "-h" or "help"]:
                Console.WriteLine(Usage);
                return 0;
            default:
                await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
                return 64;
        }
    }
}
