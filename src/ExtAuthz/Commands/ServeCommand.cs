using ExtAuthz.Serving;
using Microsoft.AspNetCore.Builder;

namespace ExtAuthz.Commands;

/// <summary><c>extauthz serve</c>: the Envoy ext_authz gRPC service, with its admin endpoints.</summary>
internal static class ServeCommand
{
    public const string Help = """
        extauthz serve [--config DIR ...] [--listen ADDRESS:PORT] [--unix-socket PATH] [--admin ADDRESS:PORT|off]
                       [--dry-run] [--decision-log -|PATH|off] [--decision-log-capacity N]
                       [--session-key-file PATH] [--session-lifetime SECONDS] [--token-query-parameter NAME]
                       [--log-level LEVEL]
                       [--mqtt-tunnel ADDRESS:PORT|off] [--mqtt-websocket ADDRESS:PORT|off]
                       [--mqtt-listen ADDRESS:PORT (--mqtt-tls-cert PATH --mqtt-tls-key PATH | --mqtt-insecure-as CERT_ID)]
                       [--broker HOST:PORT[,tls] [--broker-ca PATH] | --embedded-broker-listen ADDRESS:PORT]
                       [--mqtt-intake-allow CIDR,...]
                       [--mqtt-intake-secret-file PATH] [--mqtt-max-packet-size BYTES]
                       [--mqtt-deny-publish-v3 close|drop] [--mqtt-connect-timeout SECONDS]
                       [--http-publish ADDRESS:PORT|off]
                       [--https-listen ADDRESS:PORT --https-tls-cert PATH --https-tls-key PATH] [--dev-certs DIR]

        Serves envoy.service.auth.v3.Authorization/Check (gRPC over h2c) for Envoy's ext_authz filters on
        8883 (network filter, MQTT), 443 and 8443 (HTTP filter), and the gRPC health service
        (grpc.health.v1.Health: SERVING once a configuration has loaded); and the MQTT gate, which
        checks every CONNECT, PUBLISH, SUBSCRIBE and delivered message against the same configuration
        on its way to the MQTT broker (docs/mqtt.md).

          --config DIR            a configuration directory (repeatable; docs/configuration.md). Watched:
                                  changes take effect within seconds, and a change that does not load is
                                  refused while the last good configuration keeps serving. Without
                                  --config the embedded defaults are served: an account with no devices,
                                  so every request is refused (401). A directory may hold serve.args:
                                  more flags for this command, one per line with its value (# starts
                                  a comment; paths are relative to the directory), read before the
                                  command line's, which win. examples/quickstart/serve.args is one.
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
          --token-query-parameter NAME
                                  on 443, also read a Cognito or federated bearer token from this query
                                  parameter (browsers cannot set headers on a WebSocket upgrade); default:
                                  the Authorization header only. Identities: docs/identity.md
          --log-level LEVEL       trace, debug, information (default), warning, error, critical, none

        The MQTT gate (with every intake below and the HTTP publish endpoints off: no gate and no
        embedded broker):
          --mqtt-tunnel ADDRESS:PORT
                                  h2c endpoint for Envoy's tcp_proxy tunnels from 8883 (POST, the client
                                  certificate in x-extauthz-client-cert; default 127.0.0.1:9192), or off
          --mqtt-websocket ADDRESS:PORT
                                  HTTP/1.1 endpoint for MQTT over WebSocket from Envoy's 443, bound to the
                                  principal of its x-extauthz-session handle (default 127.0.0.1:9194), or off
          --mqtt-listen ADDRESS:PORT
                                  the gate's own MQTT listener, for devices without Envoy (default off):
                                  mutual TLS with --mqtt-tls-cert and --mqtt-tls-key (PEM; client
                                  certificates are resolved through the registry as Check does)
          --mqtt-insecure-as CERT_ID
                                  development only: --mqtt-listen is plain TCP and every client is the
                                  registered certificate CERT_ID
          --broker HOST:PORT[,tls]
                                  the upstream MQTT broker (TLS with ,tls: the system's trust store, or
                                  --broker-ca PATH's CAs alone); default: an embedded broker in this
                                  process, to which the gate hands its connections in memory
          --embedded-broker-listen ADDRESS:PORT
                                  where the embedded broker's own MQTT listener binds, for the HTTP
                                  publisher and local tools (default: a random loopback port; port 0
                                  takes a free one). Plain TCP, no authorization: it is past the gate
          --mqtt-intake-allow CIDR,...
                                  peers allowed on the tunnel and WebSocket endpoints (repeatable;
                                  default 127.0.0.0/8,::1/128)
          --mqtt-intake-secret-file PATH
                                  also require this secret in x-extauthz-intake-secret on those endpoints
          --mqtt-max-packet-size BYTES
                                  the largest packet a client may send, fixed header included
                                  (default 131072, AWS IoT's limit)
          --mqtt-deny-publish-v3 close|drop
                                  an MQTT 3.1.1 PUBLISH that is refused closes the connection, as AWS IoT
                                  does (default), or is acknowledged and dropped
          --mqtt-connect-timeout SECONDS
                                  how long a new connection may take to send CONNECT (default 10)

        HTTP publish (AWS IoT's POST /topics/{topic}?qos=0|1&retain=true|false, published to the gate's
        broker; answered {"message":"OK","traceId":...}; the data plane's other operations get 501):
          --http-publish ADDRESS:PORT
                                  HTTP/1.1 endpoint for Envoy's data-plane route /topics/, after
                                  ext_authz allowed the request (default 127.0.0.1:9195), or off; the
                                  same peers and secret as the gate's intakes
          --https-listen ADDRESS:PORT
                                  the data plane's own HTTPS listener, for development without Envoy
                                  (default off): each request is checked as Envoy's 8443 listener would
                                  ask (the client's certificate through the registry), then served
          --https-tls-cert PATH, --https-tls-key PATH
                                  that listener's server certificate and key (PEM)

        Development:
          --dev-certs DIR         make the development certificates (see 'extauthz help dev-certs') in DIR
                                  when they are missing, before the configuration loads

        Standard output carries the decision log only; the service's own log goes to standard error.
        Envoy's side (filters, context extensions, headers) is in docs/envoy.md.
        Stops on SIGTERM or Ctrl-C, draining the decision log.

        Exit status: 0 after a clean stop; 2 when it cannot start (a port in use, an unreadable key,
        certificate or secret file);
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
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"{Name}: cannot read {ServeOptions.SettingsFile}: {ex.Message}").ConfigureAwait(false);
            return Cli.ExitBadInput;
        }

        foreach (var directory in options.Configs.Where(d => !Directory.Exists(d)))
        {
            await stderr.WriteLineAsync($"{Name}: the configuration directory {directory} does not exist").ConfigureAwait(false);
            return Cli.ExitBadInput;
        }

        foreach (var file in options.SettingsFiles)
        {
            await stderr.WriteLineAsync($"{Name}: flags from {file}").ConfigureAwait(false);
        }

        if (options.DevCerts is { } devCerts)
        {
            try
            {
                var made = await DevelopmentPki.CompleteAsync(devCerts).ConfigureAwait(false);
                if (made.Count > 0)
                {
                    await stderr.WriteLineAsync(
                        $"{Name}: made development certificates (unprotected keys, for development only): {string.Join(", ", made.Select(m => m.Path))}").ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                await stderr.WriteLineAsync($"{Name}: --dev-certs: {ex.Message}").ConfigureAwait(false);
                return Cli.ExitBadInput;
            }
        }

        WebApplication app;
        try
        {
            app = ServiceHost.Build(options);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or System.Security.Cryptography.CryptographicException)
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
