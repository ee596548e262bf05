using System.Text;
using System.Text.Json;
using Envoy.Service.Auth.V3;

namespace ExtAuthz.Envoy.Checking;

/// <summary>The request body as Envoy forwards it (only when the route buffers it: <c>with_request_body</c>).</summary>
internal static class RequestBody
{
    private const string PartialBodyHeader = "x-envoy-auth-partial-body";

    /// <summary>
    /// The body parsed as JSON, or null when the request has none. <paramref name="error"/> says why a
    /// body cannot be used: cut short by Envoy (<c>allow_partial_message</c>), or not JSON.
    /// </summary>
    public static JsonDocument? Json(AttributeContext.Types.HttpRequest http, out string? error)
    {
        error = null;
        if (EnvoyAttributes.Header(http, PartialBodyHeader, out _, out _) == "true")
        {
            error = "Envoy sent only the start of the request body (allow_partial_message); the control-plane route must buffer whole bodies";
            return null;
        }

        ReadOnlyMemory<byte> bytes = !http.RawBody.IsEmpty ? http.RawBody.Memory : Encoding.UTF8.GetBytes(http.Body);
        if (bytes.IsEmpty)
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 32, AllowDuplicateProperties = false });
        }
        catch (JsonException ex)
        {
            error = $"the request body is not valid JSON: {ex.Message}";
            return null;
        }
    }
}
