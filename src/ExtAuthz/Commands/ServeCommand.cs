using ExtAuthz.Serving;
using Microsoft.AspNetCore.Builder;

namespace ExtAuthz.Commands;

/// <summary><c>extauthz serve</c>: the Envoy ext_authz gRPC service, with its admin endpoints.</summary>
internal static class ServeCommand
{
    public const string Help = """
        extauthz serve [--config DIR ...] [--listen ADDRESS:PORT] [--unix-socket PATH] [--admin ADDRESS:PORT|off]
                       [--dry-run] [--decision-log -|PATH|off] [--decision-log-capacity N]
                       [--session-key-file PATH] [--session-lifetime SECONDS] [--log-level LEVEL]

        Serves envoy.service.auth.v3.Authorization/Check (gRPC over h2c) for Envoy's ext_authz filters on
        8883 (network filter, MQTT), 443 and 8443 (HTTP filter), and the gRPC health service
        (grpc.health.v1.Health: SERVING once a configuration has loaded).

          --config DIR            a configuration directory (repeatable; docs/configuration.md). Watched:
                                  changes take effect within seconds, and a change that does not load is
                                  refused while the last good configuration keeps serving. Without
                                  --config the embedded defaults are served: an account with no devices,
                                  so every request is refused (401).
          --listen ADDRESS:PORT   the gRPC endpoint (default 127.0.0.1:9191; port 0 takes a free one)
          --unix-socket PATH      serve gRPC on a Unix domain socket instead (with --listen too: both)
          --admin ADDRESS:PORT    the admin HTTP endpoint (default 127.0.0.1:9193), or off:
                                    GET  /healthz             200 while the process runs
                                    GET  /readyz              200 once a configuration has loaded, else 503
                                    GET  /status              the configuration in effect and the last reload error (JSON)
                                    GET  /metrics             Prometheus metrics (docs/observability.md)
                                    POST /test-authorization  AWS IoT's TestAuthorization request and response
                                                              (see 'extauthz help test-authorization')
          --dry-run               answer every Check with allow; the decision log records the real
                                  decision with "enforced": false
          --decision-log DEST     one JSON line per decision: - (standard output, the default), a file
                                  (appended), or off. Written off the request path through a bounded
                                  queue; when it is full, records are dropped and counted, never waited for.
          --decision-log-capacity N
                                  the queue's size in records (default 65536)
          --session-key-file PATH the key (at least 32 bytes) that signs the session handles answered to
                                  MQTT-over-WebSocket upgrades (GET /mqtt), shared with the MQTT gate;
                                  default: a random key per process
          --session-lifetime S    how long a session handle is accepted (default 60)
          --log-level LEVEL       trace, debug, information (default), warning, error, critical, none

        Standard output carries the decision log only; the service's own log goes to standard error.
        Envoy's side (filters, context extensions, headers) is in docs/envoy.md.
        Stops on SIGTERM or Ctrl-C, draining the decision log.

        Exit status: 0 after a clean stop; 2 when it cannot start (a port in use, an unreadable key file);
        64 on a command-line error.
        """;

    private const string Name = "extauthz serve";

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args is ["--help" or "-h"])
        {
            await stdout.WriteLineAsync(Help).ConfigureAwait(false);
            return Cli.ExitOk;
        }

        ServeOptions options;
        try
        {
            options = ServeOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            await stderr.WriteLineAsync($"{Name}: {ex.Message}\n\n{Help}").ConfigureAwait(false);
            return Cli.ExitUsage;
        }

        foreach (var directory in options.Configs.Where(d => !Directory.Exists(d)))
        {
            await stderr.WriteLineAsync($"{Name}: the configuration directory {directory} does not exist").ConfigureAwait(false);
            return Cli.ExitBadInput;
        }

        WebApplication app;
        try
        {
            app = ServiceHost.Build(options);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            await stderr.WriteLineAsync($"{Name}: {ex.Message}").ConfigureAwait(false);
            return Cli.ExitBadInput;
        }

        await using (app.ConfigureAwait(false))
        {
            try
            {
                await app.RunAsync().ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                // Kestrel reports an address in use (or a socket path it cannot bind) this way.
                await stderr.WriteLineAsync($"{Name}: cannot listen: {ex.Message}").ConfigureAwait(false);
                return Cli.ExitBadInput;
            }
        }

        return Cli.ExitOk;
    }
}
