using System.Security.Cryptography.X509Certificates;
using ExtAuthz.Envoy;
using ExtAuthz.Envoy.Checking;
using ExtAuthz.Envoy.Observability;
using ExtAuthz.Identity.Cognito;
using ExtAuthz.Identity.Sessions;
using ExtAuthz.Identity.SigV4;
using ExtAuthz.Mqtt.Gate;
using ExtAuthz.Mqtt.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace ExtAuthz.Serving;

/// <summary>
/// The service as one ASP.NET Core application: Kestrel serving gRPC over h2c (the Check service and
/// the gRPC health service) on one endpoint or a Unix socket, the admin HTTP endpoints
/// (<see cref="AdminEndpoints"/>) on another, and the MQTT gate's listeners (<see cref="MqttGateHost"/>).
/// Each listener tags its connections, so admin paths answer only on the admin port, gRPC only on the
/// gRPC one, and the gate only on its own. The gate decides with the same configuration and logs to
/// the same decision log and metrics as the Check service.
/// </summary>
internal static partial class ServiceHost
{
    private const string ListenerItem = "extauthz.listener";
    private const string GrpcListener = "grpc";
    private const string AdminListener = "admin";
    private const string HttpPublishListener = "http-publish";
    private const string HttpsListener = "https";

    /// <summary>Builds the application; <paramref name="configureHost"/> lets tests swap the server (TestServer) before it is built.</summary>
    public static WebApplication Build(ServeOptions options, Action<WebApplicationBuilder>? configureHost = null)
    {
        // Read the session key now, so a bad key file stops the start instead of the first upgrade.
        var sessions = Sessions(options);
        var gateOptions = GateOptions(options);
        var httpsCertificate = options.HttpsTlsCert is { } httpsCert ? X509Certificate2.CreateFromPemFile(httpsCert, options.HttpsTlsKey) : null;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            console.UseUtcTimestamp = true;
        });

        // Standard output carries the decision log alone; the service's own log goes to standard error.
        builder.Services.Configure<ConsoleLoggerOptions>(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(options.LogLevel);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            if (options.UnixSocket is { } socket)
            {
                kestrel.ListenUnixSocket(socket, listen => Tag(listen, GrpcListener, HttpProtocols.Http2));
            }

            if (options.Listen is { } grpc)
            {
                kestrel.Listen(grpc, listen => Tag(listen, GrpcListener, HttpProtocols.Http2));
            }

            if (options.Admin is { } admin)
            {
                kestrel.Listen(admin, listen => Tag(listen, AdminListener, HttpProtocols.Http1));
            }

            kestrel.ApplicationServices.GetService<MqttGateHost>()?.ConfigureKestrel(kestrel);
            if (options.HttpPublish is { } publish)
            {
                kestrel.Listen(publish, listen => Tag(listen, HttpPublishListener, HttpProtocols.Http1));
            }

            if (options.HttpsListen is { } https)
            {
                kestrel.Listen(https, listen =>
                {
                    Tag(listen, HttpsListener, HttpProtocols.Http1AndHttp2);
                    // As behind Envoy, the registry decides: a request without a certificate is answered 401 with the reason.
                    listen.UseHttps(MqttGateHost.RegistryDecidedTls(httpsCertificate!));
                });
            }
        });

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(provider => new ServiceConfiguration(options.Configs, provider.GetRequiredService<ILoggerFactory>().CreateLogger("ExtAuthz.Registry")));
        services.AddSingleton(provider => DecisionLog.Open(options.DecisionLog ?? "none",
            new DecisionLogOptions { Capacity = options.DecisionLogCapacity }, provider.GetRequiredService<ILoggerFactory>().CreateLogger("ExtAuthz.DecisionLog")));
        services.AddSingleton(provider =>
        {
            var configuration = provider.GetRequiredService<ServiceConfiguration>();
            return new CheckMetrics(provider.GetRequiredService<DecisionLog>(), () => configuration.Status, () => configuration.Current);
        });
        services.AddSingleton(provider =>
        {
            var configuration = provider.GetRequiredService<ServiceConfiguration>();
            var log = provider.GetRequiredService<DecisionLog>();
            var metrics = provider.GetRequiredService<CheckMetrics>();
            return new CheckHandler(
                () => configuration.Current,
                new CheckHandlerOptions
                {
                    DryRun = options.DryRun,
                    Sessions = sessions,
                    Tokens = provider.GetRequiredService<CognitoTokenVerifier>(),
                    TokenQueryParameter = options.TokenQueryParameter,
                    Signatures = new SigV4Verifier(),
                },
                record =>
                {
                    log.TryRecord(record);
                    metrics.Record(record);
                },
                provider.GetRequiredService<ILoggerFactory>().CreateLogger("ExtAuthz.Check"));
        });
        services.AddSingleton(provider => new CognitoTokenVerifier(logger: provider.GetRequiredService<ILoggerFactory>().CreateLogger("ExtAuthz.Cognito")));
        services.AddHostedService<ConfigurationStarter>();
        services.AddHostedService<TokenKeysStarter>();
        if (gateOptions is not null)
        {
            services.AddSingleton(provider =>
            {
                var configuration = provider.GetRequiredService<ServiceConfiguration>();
                var log = provider.GetRequiredService<DecisionLog>();
                var metrics = provider.GetRequiredService<CheckMetrics>();
                return new MqttGateHost(gateOptions, () => configuration.Current, sessions, record =>
                {
                    log.TryRecord(record);
                    metrics.Record(record);
                }, provider.GetRequiredService<ILoggerFactory>());
            });
            services.AddHostedService<GateStarter>();
            services.AddSingleton(provider => new DataPlaneEndpoints(
                provider.GetRequiredService<CheckHandler>(),
                provider.GetRequiredService<MqttGateHost>(),
                new IntakeGuard(gateOptions.IntakeAllow, gateOptions.IntakeSecret),
                provider.GetRequiredService<ILoggerFactory>().CreateLogger("ExtAuthz.DataPlane")));
        }

        services.AddGrpc(grpc => grpc.EnableDetailedErrors = false);
        AuthorizationService.AddCheckService(services);
        // The gRPC health service reports SERVING once a configuration has loaded, like /readyz.
        services.AddGrpcHealthChecks().AddCheck<ConfigurationHealthCheck>("configuration");

        configureHost?.Invoke(builder);
        var app = builder.Build();
        app.Services.GetService<MqttGateHost>()?.UseIntakes(app);
        // Runs for every Check, so it stays synchronous until a request leaves for the data plane.
        app.Use((context, next) =>
        {
            // TestServer connections carry no tag: everything is reachable there.
            var listener = context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(ListenerItem, out var tag) == true ? tag as string : null;
            if (listener is HttpPublishListener or HttpsListener)
            {
                var dataPlane = context.RequestServices.GetRequiredService<DataPlaneEndpoints>();
                return listener == HttpsListener ? dataPlane.DirectAsync(context) : dataPlane.UpstreamAsync(context);
            }

            var admin = AdminEndpoints.IsAdminPath(context.Request.Path);
            if ((listener == GrpcListener && admin) || (listener == AdminListener && !admin))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            return next(context);
        });
        app.MapGrpcService<AuthorizationService>();
        app.MapGrpcHealthChecksService();
        AdminEndpoints.Map(app);
        return app;
    }

    private static void Tag(ListenOptions listen, string name, HttpProtocols protocols)
    {
        listen.Protocols = protocols;
        listen.Use(next => connection =>
        {
            connection.Items[ListenerItem] = name;
            return next(connection);
        });
    }

    /// <summary>The gate's settings with its files read now, so a bad certificate or secret file stops the start; null when every intake is off.</summary>
    private static MqttGateHostOptions? GateOptions(ServeOptions options)
    {
        if (!options.MqttGateEnabled)
        {
            return null;
        }

        X509Certificate2Collection? brokerTrust = null;
        if (options.BrokerCa is { } ca)
        {
            brokerTrust = [];
            brokerTrust.ImportFromPemFile(ca);
        }

        return new MqttGateHostOptions
        {
            Tunnel = options.MqttTunnel,
            WebSocket = options.MqttWebSocket,
            Listen = options.MqttListen,
            ServerCertificate = options.MqttTlsCert is { } certificate ? X509Certificate2.CreateFromPemFile(certificate, options.MqttTlsKey) : null,
            InsecurePrincipal = options.MqttInsecureAs,
            Broker = options.Broker,
            EmbeddedBrokerListen = options.EmbeddedBrokerListen,
            BrokerTrust = brokerTrust,
            IntakeAllow = options.MqttIntakeAllow.Count > 0 ? options.MqttIntakeAllow : IntakeGuard.Loopback,

            // A mounted Secret file often ends with a newline the sender's header does not have.
            IntakeSecret = options.MqttIntakeSecretFile is { } secret ? File.ReadAllText(secret).Trim() : null,
            Gate = new MqttGateOptions
            {
                ConnectTimeout = options.MqttConnectTimeout,
                MaxPacketSize = options.MqttMaxPacketSize,
                DeniedPublishV311 = options.MqttDenyPublishV3,
                DryRun = options.DryRun,
            },
        };
    }

    private static SessionHandles Sessions(ServeOptions options)
    {
        if (options.SessionKeyFile is null)
        {
            return SessionHandles.WithRandomKey(options.SessionLifetime);
        }

        var key = File.ReadAllBytes(options.SessionKeyFile);
        return new SessionHandles(key, options.SessionLifetime);
    }

    /// <summary>Loads the configuration when the host starts (before it listens), and stops watching when it stops.</summary>
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "No --config given: serving the embedded default configuration (no devices; every request is refused). Pass --config DIR to serve a fleet.")]
    private static partial void LogEmbedded(ILogger logger);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "The configuration did not load; the service is not ready and refuses every Check until it does: {Error}")]
    private static partial void LogNotLoaded(ILogger logger, string? error);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "--dry-run: every Check is answered with allow; the decision log has the real decisions (enforced: false).")]
    private static partial void LogDryRun(ILogger logger);

    private sealed class ConfigurationStarter(ServiceConfiguration configuration, ILogger<ConfigurationStarter> logger, ServeOptions options) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            configuration.Start();
            if (configuration.IsEmbedded)
            {
                LogEmbedded(logger);
            }
            else if (configuration.Current is null)
            {
                LogNotLoaded(logger, configuration.Status?.LastError);
            }

            if (options.DryRun)
            {
                LogDryRun(logger);
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>
    /// Starts the gate (and the embedded broker) after the configuration, hooks it to configuration
    /// changes, and closes its connections as soon as the application starts stopping: Kestrel's
    /// graceful shutdown would otherwise wait out its timeout for long-lived MQTT connections.
    /// </summary>
    private sealed class GateStarter(MqttGateHost gate, ServiceConfiguration configuration, IHostApplicationLifetime lifetime) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await gate.StartAsync().ConfigureAwait(false);
            configuration.WhenChanged(gate.OnSnapshotChanged);
            lifetime.ApplicationStopping.Register(() => _ = gate.StopAsync());
        }

        public Task StopAsync(CancellationToken cancellationToken) => gate.StopAsync();
    }

    /// <summary>
    /// Fetches the token issuers' keys (jwksUrl, discovery) as soon as a configuration is in effect and
    /// after every change, so that the first token of a pool does not wait for them; Checks never block on it.
    /// </summary>
    private sealed class TokenKeysStarter(CognitoTokenVerifier tokens, ServiceConfiguration configuration) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            WarmUp();
            configuration.WhenChanged(WarmUp);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        private void WarmUp()
        {
            if (configuration.Current is { } snapshot)
            {
                _ = tokens.WarmUpAsync(snapshot);
            }
        }
    }

    internal sealed class ConfigurationHealthCheck(ServiceConfiguration configuration) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(configuration.Current is { } snapshot
                ? HealthCheckResult.Healthy($"configuration generation {snapshot.Generation}")
                : HealthCheckResult.Unhealthy("no configuration has loaded"));
    }
}
