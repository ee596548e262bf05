using ExtAuthz.Envoy;
using ExtAuthz.Envoy.Checking;
using ExtAuthz.Envoy.Observability;
using ExtAuthz.Identity.Sessions;
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
/// the gRPC health service) on one endpoint or a Unix socket, and the admin HTTP endpoints
/// (<see cref="AdminEndpoints"/>) on another. Each listener tags its connections, so admin paths answer
/// only on the admin port and gRPC only on the gRPC one.
/// </summary>
internal static partial class ServiceHost
{
    private const string ListenerItem = "extauthz.listener";
    private const string GrpcListener = "grpc";
    private const string AdminListener = "admin";

    /// <summary>Builds the application; <paramref name="configureHost"/> lets tests swap the server (TestServer) before it is built.</summary>
    public static WebApplication Build(ServeOptions options, Action<WebApplicationBuilder>? configureHost = null)
    {
        // Read the session key now, so a bad key file stops the start instead of the first upgrade.
        var sessions = Sessions(options);
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
                new CheckHandlerOptions { DryRun = options.DryRun, Sessions = sessions },
                record =>
                {
                    log.TryRecord(record);
                    metrics.Record(record);
                },
                provider.GetRequiredService<ILoggerFactory>().CreateLogger("ExtAuthz.Check"));
        });
        services.AddHostedService<ConfigurationStarter>();
        services.AddGrpc(grpc => grpc.EnableDetailedErrors = false);
        // The gRPC health service reports SERVING once a configuration has loaded, like /readyz.
        services.AddGrpcHealthChecks().AddCheck<ConfigurationHealthCheck>("configuration");

        configureHost?.Invoke(builder);
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            // TestServer connections carry no tag: everything is reachable there.
            var listener = context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(ListenerItem, out var tag) == true ? tag as string : null;
            var admin = AdminEndpoints.IsAdminPath(context.Request.Path);
            if ((listener == GrpcListener && admin) || (listener == AdminListener && !admin))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            await next(context).ConfigureAwait(false);
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

    internal sealed class ConfigurationHealthCheck(ServiceConfiguration configuration) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(configuration.Current is { } snapshot
                ? HealthCheckResult.Healthy($"configuration generation {snapshot.Generation}")
                : HealthCheckResult.Unhealthy("no configuration has loaded"));
    }
}
