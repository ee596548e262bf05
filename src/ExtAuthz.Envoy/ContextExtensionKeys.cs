namespace ExtAuthz.Envoy;

/// <summary>
/// The <c>attributes.context_extensions</c> keys and values the Check service reads. Envoy's HTTP
/// ext_authz filter sends what the route configuration sets (<c>ExtAuthzPerRoute.check_settings.context_extensions</c>,
/// merged virtual host → route, the more specific key winning). Envoy's network filter has no context
/// extensions at all, so a Check from the MQTT listener carries none: it is recognised by having no
/// <c>attributes.request</c>.
/// </summary>
public static class ContextExtensionKeys
{
    /// <summary>The listener's port in decimal: <c>"443"</c> or <c>"8443"</c> (or <c>"8883"</c>, which only the network filter serves, and it sends no extensions).</summary>
    public const string Port = "port";

    /// <summary>Which API the route belongs to: <see cref="DataPlane"/> or <see cref="ControlPlane"/>.</summary>
    public const string Plane = "plane";

    /// <summary>The <see cref="Plane"/> value of device-facing routes (publish, shadows, MQTT over WebSocket).</summary>
    public const string DataPlane = "data";

    /// <summary>The <see cref="Plane"/> value of management routes, which this service does not authorize.</summary>
    public const string ControlPlane = "control";

    /// <summary>
    /// Whether the route's <c>x-forwarded-client-cert</c> header may be believed: <see cref="XfccTrusted"/>
    /// only where Envoy writes it itself (<c>forward_client_cert_details: SANITIZE_SET</c>).
    /// </summary>
    public const string Xfcc = "xfcc";

    /// <summary>The <see cref="Xfcc"/> value that trusts the header.</summary>
    public const string XfccTrusted = "trusted";
}
