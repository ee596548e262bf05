using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text.Json;
using ExtAuthz.Envoy;
using ExtAuthz.Envoy.Checking;
using ExtAuthz.Envoy.DataPlane;
using ExtAuthz.Envoy.Simulation;
using ExtAuthz.Mqtt.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace ExtAuthz.Serving;

/// <summary>
/// Serves AWS IoT's HTTP publish (<c>POST /topics/{topic}?qos=&amp;retain=</c>) by publishing to the
/// MQTT gate's broker, in two places: behind Envoy as the data plane's upstream (<c>--http-publish</c>:
/// ext_authz has already decided), and on <c>serve</c>'s own mutual-TLS listener (<c>--https-listen</c>:
/// each request is first checked as Envoy's 8443 would ask). Both read the request with the Check
/// service's own route table, so what is published is exactly what was authorized. The data plane's other
/// operations (shadows, retained messages, jobs) need a service of their own: they are answered 501.
/// </summary>
internal sealed partial class DataPlaneEndpoints(CheckHandler checks, MqttGateHost gate, IntakeGuard guard, ILogger logger)
{
    /// <summary>AWS IoT's largest message payload (128 KB).</summary>
    public const int MaxPayloadBytes = 128 * 1024;

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>A request from Envoy, which ext_authz has allowed: only the intake guard (who may call) remains.</summary>
    public async Task UpstreamAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (guard.Refusal(context.Connection.RemoteIpAddress, MqttGateHost.SingleHeader(context.Request.Headers, IntakeGuard.SecretHeader)) is { } refusal)
        {
            LogRefused(logger, refusal);
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        var traceId = MqttGateHost.SingleHeader(context.Request.Headers, IdentityHeaders.DecisionId) ?? Guid.NewGuid().ToString("N");
        await ServeAsync(context, HttpDataPlane.Match(context.Request.Method, RawTarget(context)), traceId).ConfigureAwait(false);
    }

    /// <summary>A request on the own HTTPS listener: checked as Envoy's 8443 would ask (client certificate, data plane), then served.</summary>
    public async Task DirectAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var certificate = await context.Connection.GetClientCertificateAsync(context.RequestAborted).ConfigureAwait(false);
        global::Envoy.Service.Auth.V3.CheckRequest request;
        try
        {
            request = CheckRequestFor(context, certificate);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            await WriteJsonAsync(context, StatusCodes.Status400BadRequest, new PublishAnswer(ex.Message, null)).ConfigureAwait(false);
            return;
        }

        var response = checks.Check(request);
        if ((response.Status?.Code ?? 0) != 0)
        {
            var denied = response.DeniedResponse;
            context.Response.StatusCode = denied?.Status is { } status && (int)status.Code >= 400 ? (int)status.Code : StatusCodes.Status403Forbidden;
            foreach (var option in denied?.Headers ?? [])
            {
                context.Response.Headers[option.Header.Key] = option.Header.Value;
            }

            await context.Response.WriteAsync(denied?.Body ?? "", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var traceId = response.OkResponse?.Headers.FirstOrDefault(h => h.Header.Key == IdentityHeaders.DecisionId)?.Header.Value ?? Guid.NewGuid().ToString("N");
        await ServeAsync(context, HttpDataPlane.Match(context.Request.Method, RawTarget(context)), traceId).ConfigureAwait(false);
    }

    /// <summary>The CheckRequest Envoy's 8443 listener would send for this request (mutual TLS, the data plane, no XFCC).</summary>
    private static global::Envoy.Service.Auth.V3.CheckRequest CheckRequestFor(HttpContext context, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate)
    {
        var connection = context.Connection;
        var builder = EnvoyCheckRequest.Http(context.Request.Method, RawTarget(context))
            .WithContextExtension(ContextExtensionKeys.Port, EnvoyCheckRequest.MtlsPort.ToString(CultureInfo.InvariantCulture))
            .WithContextExtension(ContextExtensionKeys.Plane, ContextExtensionKeys.DataPlane)
            .WithClientCertificate(certificate)
            .WithProtocol(HttpProtocol.IsHttp2(context.Request.Protocol) ? EnvoyHttpProtocol.Http2 : EnvoyHttpProtocol.Http11);
        if (connection.RemoteIpAddress is { } remote)
        {
            builder.WithSource(new IPEndPoint(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote, connection.RemotePort));
        }

        if (connection.LocalIpAddress is { } local)
        {
            builder.WithListener(new IPEndPoint(local.IsIPv4MappedToIPv6 ? local.MapToIPv4() : local, connection.LocalPort));
        }

        if (context.Features.Get<Microsoft.AspNetCore.Connections.Features.ITlsHandshakeFeature>()?.HostName is { Length: > 0 } sni)
        {
            builder.WithSni(sni);
        }

        foreach (var (name, values) in context.Request.Headers)
        {
            if (name.StartsWith(':'))
            {
                continue;
            }

            foreach (var value in values)
            {
                builder.WithHeader(name, value ?? "");
            }
        }

        return builder.Build();
    }

    private async Task ServeAsync(HttpContext context, DataPlaneRoute route, string traceId)
    {
        if (!route.IsOperation)
        {
            await WriteJsonAsync(context, route.HttpStatus, new PublishAnswer(route.Reason ?? "not an AWS IoT data-plane operation", traceId)).ConfigureAwait(false);
            return;
        }

        if (route.Operation != "Publish")
        {
            await WriteJsonAsync(context, StatusCodes.Status501NotImplemented, new PublishAnswer(
                $"ExtAuthz serves only HTTP publish (POST /topics/{{topic}}); {route.Operation} needs a data-plane service of its own (docs/data-plane.md)", traceId)).ConfigureAwait(false);
            return;
        }

        var payload = await ReadPayloadAsync(context).ConfigureAwait(false);
        if (payload is null)
        {
            await WriteJsonAsync(context, StatusCodes.Status413PayloadTooLarge,
                new PublishAnswer($"the payload is over {MaxPayloadBytes} bytes, AWS IoT's limit for a message", traceId)).ConfigureAwait(false);
            return;
        }

        if (await gate.Publisher!.PublishAsync(route.Topic!, payload, route.Qos, route.Retain, context.RequestAborted).ConfigureAwait(false) is { } failure)
        {
            LogPublishFailed(logger, route.Topic!, failure);
            await WriteJsonAsync(context, StatusCodes.Status503ServiceUnavailable, new PublishAnswer(failure, traceId)).ConfigureAwait(false);
            return;
        }

        await WriteJsonAsync(context, StatusCodes.Status200OK, new PublishAnswer("OK", traceId)).ConfigureAwait(false);
    }

    /// <summary>The body, or null when it is over <see cref="MaxPayloadBytes"/> (read no further than one byte past it).</summary>
    private static async Task<byte[]?> ReadPayloadAsync(HttpContext context)
    {
        if (context.Request.ContentLength > MaxPayloadBytes)
        {
            return null;
        }

        var reader = context.Request.BodyReader;
        var read = await reader.ReadAtLeastAsync(MaxPayloadBytes + 1, context.RequestAborted).ConfigureAwait(false);
        var payload = read.Buffer.Length > MaxPayloadBytes ? null : read.Buffer.ToArray();
        reader.AdvanceTo(read.Buffer.End);
        return payload;
    }

    private static string RawTarget(HttpContext context) =>
        context.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw ? raw : context.Request.Path + context.Request.QueryString;

    private static async Task WriteJsonAsync(HttpContext context, int status, PublishAnswer message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(message, Json) + "\n", context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>AWS IoT's HTTP publish answer: <c>{"message":"OK","traceId":"…"}</c>; errors say why in <c>message</c>.</summary>
    private sealed record PublishAnswer(string Message, string? TraceId);

    [LoggerMessage(EventId = 60, Level = LogLevel.Warning, Message = "A request on the HTTP publish endpoint was refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 61, Level = LogLevel.Warning, Message = "An authorized HTTP publish to {Topic} did not reach the broker: {Reason}")]
    private static partial void LogPublishFailed(ILogger logger, string topic, string reason);
}
