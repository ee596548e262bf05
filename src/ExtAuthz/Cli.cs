using ExtAuthz.Commands;

namespace ExtAuthz;

/// <summary>The command line: one executable, one verb per job.</summary>
internal static class Cli
{
    public const int ExitOk = 0;
    public const int ExitUsage = 64;
    public const int ExitBadInput = 2;

    public const string Usage = """
        extauthz: AWS IoT and IAM authorization for Envoy.

        Usage:
          extauthz serve [--config DIR...] [--listen ADDRESS:PORT] [--admin ADDRESS:PORT] [--dry-run] ...
                                      serve Envoy's ext_authz Check over gRPC (127.0.0.1:9191) and the
                                      admin endpoints (127.0.0.1:9193); without --config, the embedded
                                      defaults (no devices: every request is refused)
          extauthz check [--server HOST:PORT] [--cert FILE] [--network|--websocket] [--print-request] ...
                                      build the CheckRequest Envoy would send and ask the Check service
                                      (exit 0 allowed, 1 denied)
          extauthz eval FILE|-        evaluate requests against policies offline (JSON in, JSON out)
          extauthz dev-certs [--force] DIR
                                      write a development CA and two device certificates (with keys)
                                      to DIR and print their AWS IoT certificate IDs
          extauthz test-authorization --config DIR... [--request FILE|-] [--principal P ...]
                                      AWS IoT's TestAuthorization offline (AWS's JSON in and out)
          extauthz lint --config DIR... [--format human|json] [--strict]
                                      check a configuration before it ships (exit 1 on errors)
          extauthz help [COMMAND]     show this help, or a command's help
          extauthz --version          print the version

        Run 'extauthz help serve' for the service's flags and endpoints, 'extauthz help eval' for the
        eval input and output formats, 'extauthz help dev-certs' for the files dev-certs writes, 'extauthz help test-authorization' and 'extauthz help lint' for
        those commands.
        """;

    public static async Task<int> RunAsync(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0)
        {
            await stderr.WriteLineAsync(Usage).ConfigureAwait(false);
            return ExitUsage;
        }

        switch (args[0])
        {
            case "serve":
                return await ServeCommand.RunAsync(args[1..], stdout, stderr).ConfigureAwait(false);
            case "check":
                return await CheckCommand.RunAsync(args[1..], stdout, stderr).ConfigureAwait(false);
            case "eval":
                return await EvalCommand.RunAsync(args[1..], stdin, stdout, stderr).ConfigureAwait(false);
            case "dev-certs":
                return await DevCertsCommand.RunAsync(args[1..], stdout, stderr).ConfigureAwait(false);
            case "test-authorization":
                return await TestAuthorizationCommand.RunAsync(args[1..], stdin, stdout, stderr).ConfigureAwait(false);
            case "lint":
                return await LintCommand.RunAsync(args[1..], stdout, stderr).ConfigureAwait(false);
            case "help" or "--help" or "-h":
                var topic = args.Length > 1 ? args[1] : null;
                await stdout.WriteLineAsync(topic switch
                {
                    "serve" => ServeCommand.Help,
                    "check" => CheckCommand.Help,
                    "eval" => EvalCommand.Help,
                    "dev-certs" => DevCertsCommand.Help,
                    "test-authorization" => TestAuthorizationCommand.Help,
                    "lint" => LintCommand.Help,
                    _ => Usage,
                }).ConfigureAwait(false);
                return topic is null or "serve" or "check" or "eval" or "dev-certs" or "test-authorization" or "lint" ? ExitOk : ExitUsage;
            case "--version":
                await stdout.WriteLineAsync(typeof(Cli).Assembly.GetName().Version?.ToString() ?? "0.0.0").ConfigureAwait(false);
                return ExitOk;
            default:
                await stderr.WriteLineAsync($"extauthz: unknown command '{args[0]}'\n\n{Usage}").ConfigureAwait(false);
                return ExitUsage;
        }
    }
}
