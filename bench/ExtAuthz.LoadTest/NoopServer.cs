using Envoy.Service.Auth.V3;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace ExtAuthz.LoadTest;

/// <summary>
/// <c>noop-server --listen ADDRESS:PORT</c>: Authorization/Check on the same stack as <c>extauthz serve</c>
/// (ASP.NET Core slim builder, Kestrel h2c, Grpc.AspNetCore, console logging of warnings; <c>run</c> gives it
/// the service's GC settings through DOTNET_gcServer and DOTNET_gcConcurrent) that answers every Check with
/// one constant OK. Measured beside the service, it is the baseline: whatever
/// the service costs beyond it is the Check handler's (identity, policy, answer, metrics) and its
/// larger response.
/// </summary>
internal static class NoopServer
{
    public const string Usage = "usage: ExtAuthz.LoadTest noop-server --listen ADDRESS:PORT";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args is not ["--listen", var listen] || !System.Net.IPEndPoint.TryParse(listen, out var endpoint) || endpoint.Port == 0)
        {
            await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
            return 64;
        }

        await using var app = Build(endpoint);
        await app.RunAsync().ConfigureAwait(false);
        return 0;
    }

    private static WebApplication Build(System.Net.IPEndPoint endpoint)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(console => console.SingleLine = true);
        builder.Services.Configure<ConsoleLoggerOptions>(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(endpoint, listen => listen.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddGrpc(grpc => grpc.EnableDetailedErrors = false);
        var app = builder.Build();
        app.MapGrpcService<NoopAuthorizationService>();
        return app;
    }

    private sealed class NoopAuthorizationService : Authorization.AuthorizationBase
    {
        private static readonly Task<CheckResponse> Allowed = Task.FromResult(new CheckResponse
        {
            Status = new Google.Rpc.Status { Code = 0 },
            OkResponse = new OkHttpResponse(),
        });

        public override Task<CheckResponse> Check(CheckRequest request, ServerCallContext context) => Allowed;
    }
}
