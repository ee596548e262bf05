using System.Text;
using System.Text.Json;
using ExtAuthz.Envoy.Observability;
using ExtAuthz.Registry.TestAuthorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace ExtAuthz.Serving;

/// <summary>
/// The admin port: <c>/healthz</c> (the process is up), <c>/readyz</c> (a configuration is loaded),
/// <c>/status</c> (what is loaded and the last reload error), <c>/metrics</c> (Prometheus) and
/// <c>POST /test-authorization</c> (AWS IoT's TestAuthorization against the configuration in effect).
/// </summary>
internal static class AdminEndpoints
{
    /// <summary>TestAuthorization bodies larger than this are refused (a full request is a few KiB).</summary>
    public const int MaxTestAuthorizationBytes = 1 << 20;

    private static readonly string[] Paths = ["/healthz", "/readyz", "/status", "/metrics", "/test-authorization"];

    public static bool IsAdminPath(PathString path)
    {
        foreach (var admin in Paths)
        {
            if (path.Equals(admin, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    public static void Map(WebApplication app)
    {
        app.MapGet("/healthz", () => Results.Text("ok\n", "text/plain"));
        app.MapGet("/readyz", (ServiceConfiguration configuration) => configuration.Current is { } snapshot
            ? Results.Text($"ready: configuration generation {snapshot.Generation}\n", "text/plain")
            : Results.Text($"not ready: no configuration has loaded{(configuration.Status?.LastError is { } error ? ": " + error : string.Empty)}\n", "text/plain", statusCode: 503));
        app.MapGet("/status", (ServiceConfiguration configuration, DecisionLog log) => Results.Text(Status(configuration, log), "application/json"));
        app.MapGet("/metrics", async (HttpContext context, CheckMetrics metrics) =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await metrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
        });
        app.MapPost("/test-authorization", TestAuthorizationAsync);
    }

    private static async Task<IResult> TestAuthorizationAsync(HttpContext context, ServiceConfiguration configuration)
    {
        if (configuration.Current is not { } snapshot)
        {
            return Error(503, "no configuration has loaded yet");
        }

        if (context.Request.ContentLength > MaxTestAuthorizationBytes)
        {
            return Error(413, $"the request body is larger than {MaxTestAuthorizationBytes} bytes");
        }

        string json;
        using (var reader = new StreamReader(context.Request.Body, new UTF8Encoding(false, throwOnInvalidBytes: true)))
        {
            var buffer = new char[MaxTestAuthorizationBytes + 1];
            var read = 0;
            try
            {
                int count;
                while (read < buffer.Length && (count = await reader.ReadAsync(buffer.AsMemory(read), context.RequestAborted).ConfigureAwait(false)) > 0)
                {
                    read += count;
                }
            }
            catch (DecoderFallbackException)
            {
                return Error(400, "the request body is not valid UTF-8");
            }

            if (read > MaxTestAuthorizationBytes)
            {
                return Error(413, $"the request body is larger than {MaxTestAuthorizationBytes} bytes");
            }

            json = new string(buffer, 0, read);
        }

        try
        {
            return Results.Text(TestAuthorizationService.Run(snapshot, json), "application/json");
        }
        catch (TestAuthorizationException ex)
        {
            return Error(400, ex.Message);
        }
    }

    private static IResult Error(int status, string message) =>
        Results.Text(JsonSerializer.Serialize(new ErrorBody(message), AdminJson.Default.ErrorBody), "application/json", statusCode: status);

    private static string Status(ServiceConfiguration configuration, DecisionLog log)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteBoolean("ready", configuration.Current is not null);
            json.WriteBoolean("embeddedDefaults", configuration.IsEmbedded);
            if (configuration.Current is { } snapshot)
            {
                json.WriteNumber("generation", snapshot.Generation);
                json.WriteString("loadedAt", snapshot.LoadedAt);
                json.WriteString("fingerprint", snapshot.Fingerprint);
                json.WriteString("account", snapshot.AccountId);
                json.WriteString("region", snapshot.Region);
                json.WriteNumber("policies", snapshot.Policies.Count);
                json.WriteNumber("certificates", snapshot.Certificates.Count);
                json.WriteNumber("things", snapshot.Things.Count);
            }

            if (configuration.Status is { } status)
            {
                json.WriteStartArray("directories");
                foreach (var directory in status.Directories)
                {
                    json.WriteStringValue(directory);
                }

                json.WriteEndArray();
                json.WriteNumber("reloads", status.ReloadCount);
                json.WriteNumber("refusedReloads", status.RefusedCount);
                json.WriteBoolean("refusing", status.Refusing);
                if (status.LastError is { } error)
                {
                    json.WriteString("lastError", error);
                }

                if (status.LastErrorAt is { } at)
                {
                    json.WriteString("lastErrorAt", at);
                }
            }

            json.WriteNumber("decisionLogWritten", log.Written);
            json.WriteNumber("decisionLogDropped", log.Dropped);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }
}

internal sealed record ErrorBody(string Error);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(ErrorBody))]
internal sealed partial class AdminJson : System.Text.Json.Serialization.JsonSerializerContext;
