using System.Text.Json.Nodes;
using ExtAuthz.Deploy.Tests.Checks;
using ExtAuthz.Deploy.Tests.Yaml;

namespace ExtAuthz.Deploy.Tests;

/// <summary>
/// The repository's Envoy configurations parse strictly into Envoy's Bootstrap and pass the sidecar
/// checks; and each check, and the schema, catches the mistake it is for in a mutated copy of
/// envoy/envoy.yaml (mutated as JSON, which is YAML, and checked from its text as a file would be).
/// </summary>
public sealed class SidecarConfigTests
{
    private static readonly Dictionary<string, (Action<JsonObject> Mutate, string Check, string Message)> Mutations = new()
    {
        ["8883 missing"] = (c => Port(Listener(c, 8883), 1883), SidecarChecks.Listeners, "no listener on port 8883 (MQTT over mutual TLS)"),
        ["8443 without required certificates"] = (c => Tls(Chain(c, 8443, 0))["require_client_certificate"] = false,
            SidecarChecks.ClientCertificates, "require_client_certificate is not true"),
        ["443 x-amzn-http-ca without trusted CA"] = (c => Tls(Chain(c, 443, 2))["common_tls_context"]!.AsObject().Remove("validation_context"),
            SidecarChecks.ClientCertificates, "no validation_context with trusted_ca"),
        ["8883 failing open"] = (c => Filter(Chain(c, 8883, 0), "network.ext_authz")["failure_mode_allow"] = true,
            SidecarChecks.FailureMode, "failure_mode_allow is true"),
        ["a route with ext_authz disabled"] = (c => Routes(c, 8443)[0]!["typed_per_filter_config"] = new JsonObject
        {
            ["envoy.filters.http.ext_authz"] = new JsonObject { ["@type"] = "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute", ["disabled"] = true },
        }, SidecarChecks.FailureMode, "ext_authz is disabled on this route"),
        ["443 without the peer certificate"] = (c => HttpFilter(Hcm(Chain(c, 443, 1)), "http.ext_authz")["include_peer_certificate"] = false,
            SidecarChecks.PeerCertificate, "include_peer_certificate is not true"),
        ["Check service over HTTP/1.1"] = (c => Cluster(c, "extauthz").Remove("typed_extension_protocol_options"),
            SidecarChecks.CheckService, "cluster extauthz does not speak HTTP/2"),
        ["Check service on another port"] = (c => Port(Cluster(c, "extauthz")["load_assignment"]!["endpoints"]![0]!["lb_endpoints"]![0]!["endpoint"]!, 9190),
            SidecarChecks.CheckService, "cluster extauthz points at 127.0.0.1:9190, not 127.0.0.1:9191"),
        ["tunnel over CONNECT"] = (c => Filter(Chain(c, 8883, 0), "network.tcp_proxy")["tunneling_config"]!["use_post"] = false,
            SidecarChecks.MqttTunnel, "use_post is not true"),
        ["tunnel opened before the handshake"] = (c => Filter(Chain(c, 8883, 0), "network.tcp_proxy").Remove("upstream_connect_mode"),
            SidecarChecks.MqttTunnel, "upstream_connect_mode is IMMEDIATE"),
        ["connect mode without early data"] = (c => Filter(Chain(c, 443, 0), "network.tcp_proxy").Remove("max_early_data_bytes"),
            SidecarChecks.MqttTunnel, "upstream_connect_mode ON_DOWNSTREAM_DATA needs max_early_data_bytes"),
        ["tunnel without the certificate"] = (c => Filter(Chain(c, 8883, 0), "network.tcp_proxy")["tunneling_config"]!["headers_to_add"]!.AsArray().RemoveAt(0),
            SidecarChecks.MqttTunnel, "headers_to_add does not set x-extauthz-client-cert to %DOWNSTREAM_PEER_CERT%"),
        ["tcp_proxy without ext_authz"] = (c => Chain(c, 8883, 0)["filters"]!.AsArray().RemoveAt(0),
            SidecarChecks.MqttTunnel, "tcp_proxy is not preceded by the network ext_authz filter"),
        ["tunnel to the wrong port"] = (c => Port(Cluster(c, "mqtt_gate")["load_assignment"]!["endpoints"]![0]!["lb_endpoints"]![0]!["endpoint"]!, 9191),
            SidecarChecks.MqttTunnel, "cluster mqtt_gate points at 127.0.0.1:9191, not 127.0.0.1:9192"),
        ["WebSocket route keeps a forgeable header"] = (c => MqttRoute(c)["request_headers_to_remove"]!.AsArray().RemoveAt(3),
            SidecarChecks.WebSocket, "does not remove x-extauthz-intake-secret"),
        ["WebSocket to the wrong port"] = (c => Port(Cluster(c, "mqtt_gate_websocket")["load_assignment"]!["endpoints"]![0]!["lb_endpoints"]![0]!["endpoint"]!, 9192),
            SidecarChecks.WebSocket, "cluster mqtt_gate_websocket points at 127.0.0.1:9192, not 127.0.0.1:9194"),
        ["HTTP publish to the data-plane placeholder"] = (c => PublishRoute(c, 8443)["route"]!["cluster"] = "data_plane",
            SidecarChecks.HttpPublish, "cluster data_plane points at data-plane.iot.svc.cluster.local:8080, not 127.0.0.1:9195"),
        ["HTTP publish keeps a forgeable header"] = (c => PublishRoute(c, 443).Remove("request_headers_to_remove"),
            SidecarChecks.HttpPublish, "does not remove x-extauthz-intake-secret"),
        ["no catch-all route"] = (c => Routes(c, 8443).RemoveAt(Routes(c, 8443).Count - 1),
            SidecarChecks.CatchAll, "the virtual host has no catch-all route"),
        ["no catch-all virtual host"] = (c => Hosts(c, 8443)[0]!["domains"] = new JsonArray("iot.example.com"),
            SidecarChecks.CatchAll, "no virtual host has the domain \"*\""),
        ["port extension of another listener"] = (c => Extensions(Hosts(c, 8443)[0]!)["port"] = "443",
            SidecarChecks.ContextExtensions, "the route's context extension port is \"443\", but the route is on port 8443"),
        ["xfcc trusted without SANITIZE_SET"] = (c => Extensions(Hosts(c, 443, chain: 1)[1]!)["xfcc"] = "trusted",
            SidecarChecks.ContextExtensions, "xfcc: trusted on a connection manager without forward_client_cert_details: SANITIZE_SET"),
        ["per-route config under a wrong name"] = (c => Rename(Hosts(c, 8443)[0]!["typed_per_filter_config"]!.AsObject(), "envoy.filters.http.ext_authz", "envoy.filters.http.extauthz"),
            SidecarChecks.ContextExtensions, "no HTTP filter of this connection manager is named 'envoy.filters.http.extauthz'"),
        ["unknown cluster"] = (c => Filter(Chain(c, 8883, 0), "network.tcp_proxy")["cluster"] = "mqtt_gat",
            SidecarChecks.Clusters, "names cluster 'mqtt_gat', which is not defined"),
        ["router not last"] = (c => Swap(Hcm(Chain(c, 8443, 0))["http_filters"]!.AsArray()),
            SidecarChecks.RouterLast, "the HTTP filter chain must end with the router"),
        ["admin reachable from outside"] = (c => c["admin"]!["address"]!["socket_address"]!["address"] = "0.0.0.0",
            SidecarChecks.Ports, "admin interface listens on 0.0.0.0"),
        ["admin on serve's port"] = (c => Port(c["admin"]!, 9193), SidecarChecks.Ports, "port 9193 is one `extauthz serve` takes"),
    };

    public static TheoryData<string> Files() => [.. DeployFiles.All()];

    public static TheoryData<string> MutationNames() => [.. Mutations.Keys];

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_shipped_Envoy_configuration_is_valid_and_passes_the_checks(string file)
    {
        var config = EnvoyConfig.FromFile(Path.Combine(TestEnvironment.RepositoryRoot, file));

        Assert.True(config.Problems.Count == 0, string.Join('\n', config.Problems));
    }

    [Fact]
    public void The_sidecar_configuration_is_among_the_files_checked() =>
        Assert.Contains("envoy/envoy.yaml", DeployFiles.All());

    [Fact]
    public void The_sidecar_configuration_is_read_whole()
    {
        var config = EnvoyConfig.FromFile(DeployFiles.Sidecar);

        // Three listeners, the 443 connection manager twice (its alias expanded), every typed_config resolved.
        Assert.Equal(2, config.Schema!.Messages("envoy.extensions.filters.network.ext_authz.v3.ExtAuthz").Count());
        Assert.Equal(3, config.Schema.Messages("envoy.extensions.filters.http.ext_authz.v3.ExtAuthz").Count());
        Assert.Equal(3, config.Schema.Messages("envoy.extensions.filters.http.router.v3.Router").Count());
        Assert.Equal(5, config.Schema.Messages("envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext").Count());
    }

    [Fact]
    public void The_unmutated_copy_passes_so_each_mutation_alone_makes_its_finding() =>
        Assert.Empty(EnvoyConfig.FromJson("copy of envoy.yaml", Sidecar()).Problems);

    [Theory]
    [MemberData(nameof(MutationNames))]
    public void Each_check_catches_its_mistake(string mutation)
    {
        var (mutate, check, message) = Mutations[mutation];
        var copy = Sidecar();
        mutate(copy);

        var config = EnvoyConfig.FromJson($"envoy.yaml ({mutation})", copy);

        Assert.True(config.Schema is { Valid: true }, string.Join('\n', config.Problems));
        Assert.True(config.Findings.Any(f => f.Check == check && f.Message.Contains(message, StringComparison.Ordinal)),
            $"expected [{check}] …{message}…, got:\n{string.Join('\n', config.Problems)}");
    }

    [Theory]
    [InlineData("hostname: mqtt-gate", "hostname: on", "tunneling_config.hostname: envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.TunnelingConfig.hostname is a string and needs a string, not the bool true")]
    [InlineData("codec_type: AUTO", "codec_type: AUTOMATIC", "codec_type: 'AUTOMATIC' is not a value of")]
    [InlineData("router.v3.Router", "router.v3.Routr", "unknown @type 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Routr'")]
    [InlineData("timeout: 0.5s", "timeout: 500ms", "grpc_service.timeout: a Duration needs a string of seconds")]
    [InlineData("include_peer_certificate: true", "include_peer_certificates: true", "unknown field 'include_peer_certificates' in envoy.extensions.filters.network.ext_authz.v3.ExtAuthz (did you mean 'include_peer_certificate'?)")]
    [InlineData("port_value: 8883", "port_value: 88833", "port_value: envoy.config.core.v3.SocketAddress.port_value must be at most 65535, not 88833")]
    public void The_schema_catches_mistakes_in_the_file_and_says_where(string original, string replacement, string message)
    {
        var text = File.ReadAllText(DeployFiles.Sidecar);
        var at = text.IndexOf(original, StringComparison.Ordinal);
        Assert.True(at >= 0, $"envoy.yaml no longer has '{original}'");
        var line = text[..at].Count(c => c == '\n') + 1;

        var config = EnvoyConfig.FromYaml("envoy/envoy.yaml", string.Concat(text.AsSpan(0, at), replacement, text.AsSpan(at + original.Length)));

        // A mistake in the 443 connection manager appears twice: its alias expands it into both chains.
        Assert.NotEmpty(config.Problems);
        Assert.All(config.Problems, problem =>
        {
            Assert.StartsWith($"envoy/envoy.yaml:{line}: ", problem, StringComparison.Ordinal);
            Assert.Contains(message, problem, StringComparison.Ordinal);
        });
    }

    private static JsonObject Sidecar() => EnvoyYaml.Parse(File.ReadAllText(DeployFiles.Sidecar)).Root!.AsObject();

    private static JsonObject Listener(JsonObject config, int port) =>
        config["static_resources"]!["listeners"]!.AsArray().Single(l => l!["address"]!["socket_address"]!["port_value"]!.GetValue<long>() == port)!.AsObject();

    private static JsonObject Chain(JsonObject config, int port, int index) => Listener(config, port)["filter_chains"]![index]!.AsObject();

    private static JsonObject Filter(JsonObject chain, string name) =>
        chain["filters"]!.AsArray().Single(f => f!["name"]!.GetValue<string>() == $"envoy.filters.{name}")!["typed_config"]!.AsObject();

    private static JsonObject HttpFilter(JsonObject hcm, string name) =>
        hcm["http_filters"]!.AsArray().Single(f => f!["name"]!.GetValue<string>() == $"envoy.filters.{name}")!["typed_config"]!.AsObject();

    private static JsonObject Hcm(JsonObject chain) => Filter(chain, "network.http_connection_manager");

    private static JsonObject Tls(JsonObject chain) => chain["transport_socket"]!["typed_config"]!.AsObject();

    private static JsonArray Hosts(JsonObject config, int port, int chain = 0) => Hcm(Chain(config, port, chain))["route_config"]!["virtual_hosts"]!.AsArray();

    private static JsonArray Routes(JsonObject config, int port) => Hosts(config, port)[0]!["routes"]!.AsArray();

    private static JsonObject MqttRoute(JsonObject config) =>
        Hosts(config, 443, chain: 1).Single(h => h!["name"]!.GetValue<string>() == "data_plane")!["routes"]!.AsArray()
            .Single(r => r!["match"]!["path"]?.GetValue<string>() == "/mqtt")!.AsObject();

    private static JsonObject PublishRoute(JsonObject config, int port) =>
        Hosts(config, port, chain: port == 443 ? 1 : 0).Single(h => h!["name"]!.GetValue<string>() == "data_plane")!["routes"]!.AsArray()
            .Single(r => r!["match"]!["prefix"]?.GetValue<string>() == "/topics/")!.AsObject();

    private static JsonObject Extensions(JsonNode host) => host["typed_per_filter_config"]!["envoy.filters.http.ext_authz"]!["check_settings"]!["context_extensions"]!.AsObject();

    private static JsonObject Cluster(JsonObject config, string name) =>
        config["static_resources"]!["clusters"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == name)!.AsObject();

    private static void Port(JsonNode holder, int port) => holder["address"]!["socket_address"]!["port_value"] = port;

    private static void Rename(JsonObject map, string from, string to)
    {
        var value = map[from];
        map.Remove(from);
        map[to] = value;
    }

    private static void Swap(JsonArray filters)
    {
        var first = filters[0];
        filters.RemoveAt(0);
        filters.Add(first);
    }
}
