using System.Net;
using System.Net.Sockets;
using Envoy.Service.Auth.V3;
using ExtAuthz.Serving;
using ExtAuthz.Tests.Shared;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;

namespace ExtAuthz.Tests.Serving;

/// <summary>
/// The real service (<see cref="ServiceHost"/>), started either in process on ASP.NET Core's TestServer
/// (the machinery WebApplicationFactory uses) or on Kestrel over loopback, with a gRPC client and an
/// admin HTTP client pointed at it.
/// </summary>
internal sealed class RunningService : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly GrpcChannel channel;

    private RunningService(WebApplication app, GrpcChannel channel, HttpClient admin)
    {
        this.app = app;
        this.channel = channel;
        Admin = admin;
        Client = new global::Envoy.Service.Auth.V3.Authorization.AuthorizationClient(channel);
    }

    public global::Envoy.Service.Auth.V3.Authorization.AuthorizationClient Client { get; }

    public GrpcChannel Channel => channel;

    /// <summary>The admin endpoint (on TestServer, the same server: there is only one).</summary>
    public HttpClient Admin { get; }

    public Uri? GrpcAddress { get; private init; }

    public IServiceProvider Services => app.Services;

    /// <summary>In process, on TestServer.</summary>
    public static async Task<RunningService> InProcessAsync(ServeOptions options)
    {
        var app = ServiceHost.Build(options, builder => builder.WebHost.UseTestServer());
        await app.StartAsync();
        var server = app.GetTestServer();
        var channel = GrpcChannel.ForAddress(server.BaseAddress, new GrpcChannelOptions { HttpHandler = server.CreateHandler() });
        return new RunningService(app, channel, server.CreateClient());
    }

    /// <summary>On Kestrel, gRPC and admin each on a free loopback port.</summary>
    /// <remarks>
    /// A port free a moment ago can be taken before Kestrel binds it (by a client's ephemeral port of another
    /// test running in parallel): the start is tried again on other ports, a few times.
    /// </remarks>
    public static async Task<RunningService> OnLoopbackAsync(ServeOptions options)
    {
        const int Attempts = 5;
        var mqttTunnel = options.MqttTunnel;
        var mqttWebSocket = options.MqttWebSocket;
        var httpPublish = options.HttpPublish;
        for (var attempt = 1; ; attempt++)
        {
            options.Listen = new IPEndPoint(IPAddress.Loopback, FreePorts.Next());
            options.Admin = new IPEndPoint(IPAddress.Loopback, FreePorts.Next());

            // The MQTT gate's endpoints on ports of their own too, so tests never meet another serve on the defaults.
            options.MqttTunnel = mqttTunnel is null ? null : new IPEndPoint(IPAddress.Loopback, 0);
            options.MqttWebSocket = mqttWebSocket is null ? null : new IPEndPoint(IPAddress.Loopback, 0);
            options.HttpPublish = httpPublish is null ? null : new IPEndPoint(IPAddress.Loopback, FreePorts.Next());
            var app = ServiceHost.Build(options);
            try
            {
                await app.StartAsync();
            }
            catch (IOException ex) when (ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException && attempt < Attempts)
            {
                await app.DisposeAsync();
                continue;
            }

            var grpc = new Uri($"http://{options.Listen}");
            var channel = GrpcChannel.ForAddress(grpc);
            return new RunningService(app, channel, new HttpClient { BaseAddress = new Uri($"http://{options.Admin}") }) { GrpcAddress = grpc };
        }
    }

    /// <summary>On Kestrel, gRPC on a Unix domain socket.</summary>
    public static async Task<RunningService> OnUnixSocketAsync(ServeOptions options, string socketPath)
    {
        options.UnixSocket = socketPath;
        options.Listen = null;
        options.Admin = null;
        options.MqttTunnel = null;
        options.MqttWebSocket = null;
        options.HttpPublish = null;
        var app = ServiceHost.Build(options);
        await app.StartAsync();
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        var channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = handler });
        return new RunningService(app, channel, new HttpClient());
    }

    public async ValueTask DisposeAsync()
    {
        channel.Dispose();
        Admin.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }

}
