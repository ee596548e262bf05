using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using ExtAuthz.Deploy.Tests.Validation;
using ExtAuthz.Deploy.Tests.Yaml;

namespace ExtAuthz.Deploy.Tests.Checks;

/// <summary>A way a schema-valid configuration would still not protect what it should.</summary>
internal sealed record Finding(string Check, string Path, string Message)
{
    public override string ToString() => $"[{Check}] {Path}: {Message}";
}

/// <summary>
/// What no schema says but the sidecar needs, checked on a configuration that passed
/// <see cref="ProtoJsonValidator"/> (its normalized form: proto field names, enum names). Each check has a
/// name, used in its findings.
/// </summary>
internal static class SidecarChecks
{
    public const string Listeners = "listeners";
    public const string ClientCertificates = "client-certificates";
    public const string FailureMode = "failure-mode";
    public const string PeerCertificate = "peer-certificate";
    public const string CheckService = "check-service";
    public const string MqttTunnel = "mqtt-tunnel";
    public const string WebSocket = "websocket";
    public const string HttpPublish = "http-publish";
    public const string CatchAll = "catch-all";
    public const string ContextExtensions = "context-extensions";
    public const string Clusters = "clusters";
    public const string RouterLast = "router-last";
    public const string Ports = "ports";

    private const string HttpConnectionManager = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
    private const string HttpExtAuthz = "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz";
    private const string NetworkExtAuthz = "envoy.extensions.filters.network.ext_authz.v3.ExtAuthz";
    private const string ExtAuthzPerRoute = "envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute";
    private const string Router = "envoy.extensions.filters.http.router.v3.Router";
    private const string TcpProxy = "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
    private const string DownstreamTlsContext = "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";
    private const string HttpProtocolOptions = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

    /// <summary>The listeners ExtAuthz serves, and what each is.</summary>
    private static readonly (int Port, string What)[] ExpectedListeners =
        [(8883, "MQTT over mutual TLS"), (443, "HTTPS and MQTT over WebSocket"), (8443, "HTTPS over mutual TLS")];

    /// <summary>ALPN protocols with which AWS IoT takes a client certificate on 443.</summary>
    private static readonly string[] CertificateAlpn = ["x-amzn-mqtt-ca", "x-amzn-http-ca"];

    /// <summary>Fields that name a cluster.</summary>
    private static readonly string[] ClusterReferences =
    [
        "envoy.config.route.v3.RouteAction.cluster",
        "envoy.config.route.v3.WeightedCluster.ClusterWeight.name",
        "envoy.config.route.v3.RouteAction.RequestMirrorPolicy.cluster",
        "envoy.config.core.v3.GrpcService.EnvoyGrpc.cluster_name",
        "envoy.config.core.v3.HttpUri.cluster",
        "envoy.config.core.v3.ApiConfigSource.cluster_names",
        "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.cluster",
        "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster.ClusterWeight.name",
    ];

    public static List<Finding> Run(ValidationResult config, ServeDefaults serve)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(serve);
        var findings = new List<Finding>();
        var root = config.Normalized as JsonObject ?? [];
        var clusters = ClustersByName(root, findings);
        CheckClusterReferences(config, clusters, findings);
        CheckPorts(root, serve, findings);

        var listeners = root["static_resources"]?["listeners"] as JsonArray ?? [];
        foreach (var (port, what) in ExpectedListeners)
        {
            if (!listeners.Any(l => PortOf(l) == port))
            {
                findings.Add(new(Listeners, "static_resources.listeners", $"no listener on port {port} ({what})"));
            }
        }

        for (var l = 0; l < listeners.Count; l++)
        {
            var listenerPath = JsonPath.Index("static_resources.listeners", l);
            var port = PortOf(listeners[l]);
            foreach (var (chain, chainPath) in Chains(listeners[l], listenerPath))
            {
                CheckChain(chain, chainPath, port, clusters, serve, findings);
            }
        }

        foreach (var authz in config.Messages(HttpExtAuthz).Concat(config.Messages(NetworkExtAuthz)))
        {
            CheckExtAuthz(authz, clusters, serve, findings);
        }

        foreach (var perRoute in config.Messages(ExtAuthzPerRoute).Where(m => Bool(m.Value["disabled"])))
        {
            findings.Add(new(FailureMode, perRoute.Path, "ext_authz is disabled on this route: its requests would reach the upstream unchecked"));
        }

        return findings;
    }

    private static void CheckChain(JsonNode? chain, string path, int? port, Dictionary<string, JsonObject> clusters, ServeDefaults serve, List<Finding> findings)
    {
        var filters = chain?["filters"] as JsonArray ?? [];
        var types = filters.Select(f => TypeOf(f?["typed_config"])).ToList();
        var alpn = (chain?["filter_chain_match"]?["application_protocols"] as JsonArray ?? []).Select(Text).ToList();
        var mqtt = types.Contains(TcpProxy) || types.Contains(NetworkExtAuthz);
        if (port is 8883 or 8443 || mqtt || alpn.Intersect(CertificateAlpn).Any())
        {
            RequireClientCertificates(chain, path, findings);
        }

        var proxyAt = types.IndexOf(TcpProxy);
        if (proxyAt >= 0)
        {
            var proxyPath = JsonPath.Property(JsonPath.Index(JsonPath.Property(path, "filters"), proxyAt), "typed_config");
            var authzAt = types.IndexOf(NetworkExtAuthz);
            if (authzAt < 0 || authzAt > proxyAt)
            {
                findings.Add(new(MqttTunnel, proxyPath, "tcp_proxy is not preceded by the network ext_authz filter: connections would reach the gate unchecked"));
            }

            CheckTunnel(filters[proxyAt]!["typed_config"]!.AsObject(), proxyPath, clusters, serve, findings);
        }

        var hcmAt = types.IndexOf(HttpConnectionManager);
        if (hcmAt >= 0 && port is { } listenerPort)
        {
            var hcmPath = JsonPath.Property(JsonPath.Index(JsonPath.Property(path, "filters"), hcmAt), "typed_config");
            CheckConnectionManager(filters[hcmAt]!["typed_config"]!.AsObject(), hcmPath, listenerPort, clusters, serve, findings);
        }
    }

    private static void RequireClientCertificates(JsonNode? chain, string path, List<Finding> findings)
    {
        var socketPath = JsonPath.Property(path, "transport_socket");
        var tls = chain?["transport_socket"]?["typed_config"];
        if (TypeOf(tls) != DownstreamTlsContext)
        {
            findings.Add(new(ClientCertificates, socketPath, "this filter chain needs TLS with client certificates (DownstreamTlsContext), but has none"));
            return;
        }

        if (!Bool(tls!["require_client_certificate"]))
        {
            findings.Add(new(ClientCertificates, JsonPath.Property(socketPath, "typed_config"), "require_client_certificate is not true: clients without a certificate would get through the handshake"));
        }

        var common = tls["common_tls_context"];
        var validation = common?["validation_context"] ?? common?["combined_validation_context"]?["default_validation_context"];
        if (validation?["trusted_ca"] is null)
        {
            findings.Add(new(ClientCertificates, JsonPath.Property(JsonPath.Property(socketPath, "typed_config"), "common_tls_context"),
                "no validation_context with trusted_ca: client certificates would not be verified against the fleet's CAs"));
        }
    }

    private static void CheckTunnel(JsonObject proxy, string path, Dictionary<string, JsonObject> clusters, ServeDefaults serve, List<Finding> findings)
    {
        var tunnel = proxy["tunneling_config"];
        if (tunnel is null)
        {
            findings.Add(new(MqttTunnel, path, "tcp_proxy has no tunneling_config: MQTT must go to the gate through its HTTP/2 tunnel, which carries the client certificate"));
            return;
        }

        var tunnelPath = JsonPath.Property(path, "tunneling_config");
        if (!Bool(tunnel["use_post"]))
        {
            findings.Add(new(MqttTunnel, tunnelPath, "use_post is not true: the gate serves POST tunnels and answers CONNECT with 405"));
        }

        var headers = (tunnel["headers_to_add"] as JsonArray ?? []).Select(h => (Key: Text(h?["header"]?["key"]), Value: Text(h?["header"]?["value"])));
        if (!headers.Any(h => string.Equals(h.Key, serve.CertificateHeader, StringComparison.OrdinalIgnoreCase) && h.Value == "%DOWNSTREAM_PEER_CERT%"))
        {
            findings.Add(new(MqttTunnel, tunnelPath, $"headers_to_add does not set {serve.CertificateHeader} to %DOWNSTREAM_PEER_CERT%: the gate would see no certificate and refuse every CONNECT"));
        }

        var mode = Text(proxy["upstream_connect_mode"]) ?? "IMMEDIATE";
        if (mode == "IMMEDIATE")
        {
            findings.Add(new(MqttTunnel, path,
                "upstream_connect_mode is IMMEDIATE: the tunnel's headers would be written when the connection is accepted, before the TLS handshake, and %DOWNSTREAM_PEER_CERT% would be empty; use ON_DOWNSTREAM_DATA"));
        }
        else if (proxy["max_early_data_bytes"] is null)
        {
            findings.Add(new(MqttTunnel, path, $"upstream_connect_mode {mode} needs max_early_data_bytes (Envoy refuses the configuration without it)"));
        }

        if (Text(proxy["cluster"]) is { } name && clusters.TryGetValue(name, out var cluster))
        {
            RequireHttp2(cluster, name, MqttTunnel, "the gate's tunnel endpoint is HTTP/2 only", findings);
            RequireEndpoint(cluster, name, serve.Tunnel, MqttTunnel, "the gate's tunnel endpoint (serve --mqtt-tunnel)", findings);
        }
    }

    private static void CheckExtAuthz(MessageOccurrence authz, Dictionary<string, JsonObject> clusters, ServeDefaults serve, List<Finding> findings)
    {
        var config = authz.Value;
        if (Bool(config["failure_mode_allow"]))
        {
            findings.Add(new(FailureMode, authz.Path, "failure_mode_allow is true: whenever the Check service cannot answer, everything would be let through"));
        }

        if (!Bool(config["include_peer_certificate"]))
        {
            findings.Add(new(PeerCertificate, authz.Path, "include_peer_certificate is not true: the Check service gets no certificate and refuses every client"));
        }

        if (!Bool(config["include_tls_session"]))
        {
            findings.Add(new(PeerCertificate, authz.Path, "include_tls_session is not true: the Check service gets no SNI for iot:DomainName"));
        }

        if (Text(config["transport_api_version"]) != "V3")
        {
            findings.Add(new(CheckService, authz.Path, "transport_api_version is not V3: the Check service serves envoy.service.auth.v3 only"));
        }

        if (Text(config["grpc_service"]?["envoy_grpc"]?["cluster_name"]) is not { } name)
        {
            findings.Add(new(CheckService, authz.Path, "ext_authz does not call the Check service through grpc_service.envoy_grpc"));
            return;
        }

        if (clusters.TryGetValue(name, out var cluster))
        {
            RequireHttp2(cluster, name, CheckService, "gRPC needs HTTP/2", findings);
            RequireEndpoint(cluster, name, serve.Check, CheckService, "the Check service's gRPC endpoint (serve --listen)", findings);
        }
    }

    private static void CheckConnectionManager(JsonObject hcm, string path, int port, Dictionary<string, JsonObject> clusters, ServeDefaults serve, List<Finding> findings)
    {
        var filters = hcm["http_filters"] as JsonArray ?? [];
        var types = filters.Select(f => TypeOf(f?["typed_config"])).ToList();
        if (types.Count == 0 || types[^1] != Router || types.Count(t => t == Router) != 1)
        {
            findings.Add(new(RouterLast, JsonPath.Property(path, "http_filters"), "the HTTP filter chain must end with the router, once: filters after it never run, and without it nothing is routed"));
        }

        var upgrades = hcm["upgrade_configs"] as JsonArray ?? [];
        for (var u = 0; u < upgrades.Count; u++)
        {
            if (upgrades[u]?["filters"] is JsonArray { Count: > 0 } upgradeFilters && TypeOf(upgradeFilters[^1]?["typed_config"]) != Router)
            {
                findings.Add(new(RouterLast, JsonPath.Property(JsonPath.Index(JsonPath.Property(path, "upgrade_configs"), u), "filters"), "an upgrade's filter chain must end with the router"));
            }
        }

        var routeConfig = hcm["route_config"];
        if (routeConfig is null)
        {
            findings.Add(new(CatchAll, path, "the connection manager has no inline route_config, so its routes cannot be checked here"));
            return;
        }

        var authzAt = types.IndexOf(HttpExtAuthz);
        var authzName = authzAt >= 0 ? Text(filters[authzAt]?["name"]) : null;
        var filterNames = filters.Select(f => Text(f?["name"])).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var sanitizeSet = Text(hcm["forward_client_cert_details"]) == "SANITIZE_SET" && Bool(hcm["set_current_client_cert_details"]?["cert"]);
        var routeConfigPath = JsonPath.Property(path, "route_config");
        var hosts = routeConfig["virtual_hosts"] as JsonArray ?? [];
        if (!hosts.Any(h => (h?["domains"] as JsonArray ?? []).Any(d => Text(d) == "*")))
        {
            findings.Add(new(CatchAll, routeConfigPath, "no virtual host has the domain \"*\": a request for any other host matches no route, and ext_authz does not check requests without a route"));
        }

        CheckPerFilterNames(routeConfig, routeConfigPath, filterNames, findings);
        for (var h = 0; h < hosts.Count; h++)
        {
            var host = hosts[h]!;
            var hostPath = JsonPath.Index(JsonPath.Property(routeConfigPath, "virtual_hosts"), h);
            CheckPerFilterNames(host, hostPath, filterNames, findings);
            var routes = host["routes"] as JsonArray ?? [];
            if (!routes.Any(IsCatchAll))
            {
                findings.Add(new(CatchAll, hostPath, "the virtual host has no catch-all route (match: {prefix: /}): requests matching none of its routes would not be checked"));
            }

            for (var r = 0; r < routes.Count; r++)
            {
                var route = routes[r]!;
                var routePath = JsonPath.Index(JsonPath.Property(hostPath, "routes"), r);
                CheckPerFilterNames(route, routePath, filterNames, findings);
                if (authzName is not null)
                {
                    CheckRouteExtensions(Merge(authzName, routeConfig, host, route), routePath, port, sanitizeSet, findings);
                }

                CheckWebSocketRoute(route, routePath, clusters, serve, findings);
                CheckPublishRoute(route, routePath, clusters, serve, findings);
            }
        }
    }

    /// <summary>Per-route configuration under a name no HTTP filter has is silently ignored by Envoy.</summary>
    private static void CheckPerFilterNames(JsonNode owner, string path, HashSet<string> filterNames, List<Finding> findings)
    {
        foreach (var (name, _) in owner["typed_per_filter_config"] as JsonObject ?? [])
        {
            if (!filterNames.Contains(name))
            {
                findings.Add(new(ContextExtensions, JsonPath.Property(JsonPath.Property(path, "typed_per_filter_config"), name),
                    $"no HTTP filter of this connection manager is named '{name}': Envoy would ignore this configuration"));
            }
        }
    }

    /// <summary>The context extensions ext_authz sends for a route: route configuration, then virtual host, then route, the more specific key winning.</summary>
    private static Dictionary<string, string> Merge(string filterName, JsonNode routeConfig, JsonNode host, JsonNode route)
    {
        var merged = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var level in new[] { routeConfig, host, route })
        {
            foreach (var (key, value) in level["typed_per_filter_config"]?[filterName]?["check_settings"]?["context_extensions"] as JsonObject ?? [])
            {
                merged[key] = Text(value) ?? "";
            }
        }

        return merged;
    }

    private static void CheckRouteExtensions(Dictionary<string, string> extensions, string path, int port, bool sanitizeSet, List<Finding> findings)
    {
        var expected = port.ToString(CultureInfo.InvariantCulture);
        if (!extensions.TryGetValue("port", out var given) || given != expected)
        {
            findings.Add(new(ContextExtensions, path, $"the route's context extension port is {(given is null ? "missing" : $"\"{given}\"")}, but the route is on port {expected}"));
        }

        if (extensions.TryGetValue("plane", out var plane) && plane is not ("data" or "control"))
        {
            findings.Add(new(ContextExtensions, path, $"the context extension plane is \"{plane}\"; the Check service knows data and control"));
        }

        if (extensions.TryGetValue("xfcc", out var xfcc) && xfcc == "trusted" && !sanitizeSet)
        {
            findings.Add(new(ContextExtensions, path,
                "xfcc: trusted on a connection manager without forward_client_cert_details: SANITIZE_SET and set_current_client_cert_details.cert: a client could write x-forwarded-client-cert itself"));
        }
    }

    private static void CheckWebSocketRoute(JsonNode route, string path, Dictionary<string, JsonObject> clusters, ServeDefaults serve, List<Finding> findings)
    {
        var upgrades = route["route"]?["upgrade_configs"] as JsonArray ?? [];
        if (!upgrades.Any(u => string.Equals(Text(u?["upgrade_type"]), "websocket", StringComparison.OrdinalIgnoreCase) && (u?["enabled"] is null || Bool(u["enabled"]))))
        {
            return;
        }

        var removed = (route["request_headers_to_remove"] as JsonArray ?? []).Select(Text).OfType<string>().ToHashSet(StringComparer.OrdinalIgnoreCase);
        var missing = serve.GateHeaders.Where(h => !removed.Contains(h)).ToList();
        if (missing.Count > 0)
        {
            findings.Add(new(WebSocket, path, $"the WebSocket route to the gate does not remove {string.Join(", ", missing)} from the request: a client could forge what the gate trusts"));
        }

        if (Text(route["route"]?["cluster"]) is { } name && clusters.TryGetValue(name, out var cluster))
        {
            RequireEndpoint(cluster, name, serve.WebSocket, WebSocket, "the gate's WebSocket endpoint (serve --mqtt-websocket)", findings);
        }
    }

    /// <summary>
    /// HTTP publish (<c>/topics/</c>) goes to serve's publish endpoint, which trusts what reaches it
    /// (ext_authz has decided): so a client's copy of the intake secret header must not pass.
    /// </summary>
    private static void CheckPublishRoute(JsonNode route, string path, Dictionary<string, JsonObject> clusters, ServeDefaults serve, List<Finding> findings)
    {
        if (Text(route["match"]?["prefix"]) != "/topics/")
        {
            return;
        }

        if (Text(route["route"]?["cluster"]) is { } name && clusters.TryGetValue(name, out var cluster))
        {
            RequireEndpoint(cluster, name, serve.HttpPublish, HttpPublish, "the HTTP publish endpoint (serve --http-publish)", findings);
        }
        else
        {
            findings.Add(new(HttpPublish, path, "the /topics/ route does not go to a cluster: HTTP publish goes to serve --http-publish"));
        }

        var removed = (route["request_headers_to_remove"] as JsonArray ?? []).Select(Text).OfType<string>();
        if (!removed.Contains(serve.GateHeaders[^1], StringComparer.OrdinalIgnoreCase))
        {
            findings.Add(new(HttpPublish, path, $"the /topics/ route does not remove {serve.GateHeaders[^1]} from the request: a client could present its own"));
        }
    }

    private static bool IsCatchAll(JsonNode? route) =>
        route?["match"] is JsonObject match && Text(match["prefix"]) == "/" && match.All(p => p.Key is "prefix" or "case_sensitive");

    private static void RequireHttp2(JsonObject cluster, string name, string check, string why, List<Finding> findings)
    {
        var options = cluster["typed_extension_protocol_options"]?["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"];
        var http2 = TypeOf(options) == HttpProtocolOptions && options!["explicit_http_config"]?["http2_protocol_options"] is not null;
        if (!http2)
        {
            findings.Add(new(check, ClusterPath(name), $"cluster {name} does not speak HTTP/2 (typed_extension_protocol_options HttpProtocolOptions with explicit_http_config.http2_protocol_options): {why}"));
        }
    }

    private static void RequireEndpoint(JsonObject cluster, string name, IPEndPoint expected, string check, string what, List<Finding> findings)
    {
        var addresses = (cluster["load_assignment"]?["endpoints"] as JsonArray ?? [])
            .SelectMany(e => e?["lb_endpoints"] as JsonArray ?? [])
            .Select(e => e?["endpoint"]?["address"]?["socket_address"])
            .Select(a => $"{Text(a?["address"])}:{Number(a?["port_value"])}")
            .ToList();
        var wanted = $"{expected.Address}:{expected.Port}";
        if (addresses.Count == 0 || addresses.Any(a => a != wanted))
        {
            findings.Add(new(check, ClusterPath(name), $"cluster {name} points at {(addresses.Count == 0 ? "nothing" : string.Join(", ", addresses))}, not {wanted}, {what}'s default"));
        }
    }

    private static void CheckPorts(JsonObject root, ServeDefaults serve, List<Finding> findings)
    {
        var admin = root["admin"]?["address"]?["socket_address"];
        if (admin is not null)
        {
            var address = Text(admin["address"]);
            if (!IPAddress.TryParse(address, out var ip) || !IPAddress.IsLoopback(ip))
            {
                findings.Add(new(Ports, "admin.address.socket_address.address", $"Envoy's admin interface listens on {address}: it must be on loopback only"));
            }
        }

        var taken = serve.All.Select(e => e.Port).ToHashSet();
        var used = new List<(string Path, JsonNode? Address)> { ("admin.address.socket_address", admin) };
        var listeners = root["static_resources"]?["listeners"] as JsonArray ?? [];
        used.AddRange(listeners.Select((l, i) => (JsonPath.Index("static_resources.listeners", i), l?["address"]?["socket_address"])));
        foreach (var (path, address) in used)
        {
            if (Number(address?["port_value"]) is { } port && taken.Contains(port))
            {
                findings.Add(new(Ports, path, $"port {port} is one `extauthz serve` takes by default"));
            }
        }
    }

    private static Dictionary<string, JsonObject> ClustersByName(JsonObject root, List<Finding> findings)
    {
        var clusters = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        var list = root["static_resources"]?["clusters"] as JsonArray ?? [];
        for (var c = 0; c < list.Count; c++)
        {
            if (list[c] is JsonObject cluster && Text(cluster["name"]) is { } name && !clusters.TryAdd(name, cluster))
            {
                findings.Add(new(Clusters, JsonPath.Index("static_resources.clusters", c), $"cluster {name} is defined twice"));
            }
        }

        return clusters;
    }

    private static void CheckClusterReferences(ValidationResult config, Dictionary<string, JsonObject> clusters, List<Finding> findings)
    {
        foreach (var field in ClusterReferences)
        {
            foreach (var (path, value) in config.Values(field))
            {
                if (Text(value) is { } name && !clusters.ContainsKey(name))
                {
                    findings.Add(new(Clusters, path, $"names cluster '{name}', which is not defined in static_resources.clusters"));
                }
            }
        }
    }

    private static IEnumerable<(JsonNode? Chain, string Path)> Chains(JsonNode? listener, string path)
    {
        var chains = listener?["filter_chains"] as JsonArray ?? [];
        for (var c = 0; c < chains.Count; c++)
        {
            yield return (chains[c], JsonPath.Index(JsonPath.Property(path, "filter_chains"), c));
        }

        if (listener?["default_filter_chain"] is { } fallback)
        {
            yield return (fallback, JsonPath.Property(path, "default_filter_chain"));
        }
    }

    private static string ClusterPath(string name) => $"static_resources.clusters[name={name}]";

    private static int? PortOf(JsonNode? listener) => Number(listener?["address"]?["socket_address"]?["port_value"]);

    private static string? TypeOf(JsonNode? any) => Text(any?["@type"]) is { } url ? url[(url.LastIndexOf('/') + 1)..] : null;

    private static string? Text(JsonNode? node) => node?.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : null;

    private static bool Bool(JsonNode? node) => node?.GetValueKind() == JsonValueKind.True;

    private static int? Number(JsonNode? node) =>
        node?.GetValueKind() == JsonValueKind.Number && int.TryParse(node.ToJsonString(), NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number : null;
}
