using System.Net;
using System.Text.Json.Nodes;

namespace ExtAuthz.K8s.Tests.Support;

/// <summary>What the pod must agree with in Envoy's bootstrap (envoy/envoy.yaml), read as Envoy reads it.</summary>
internal sealed class EnvoyBootstrap
{
    private readonly JsonNode root;

    public EnvoyBootstrap(string yaml) => root = YamlJson.Load(yaml);

    /// <summary>The admin interface's address.</summary>
    public IPEndPoint Admin => SocketAddress(root["admin"]?["address"]) ?? throw new InvalidOperationException("envoy.yaml has no admin socket address");

    /// <summary>Each static listener's name and address.</summary>
    public IEnumerable<(string Name, IPEndPoint Address)> Listeners =>
        Array(root["static_resources"]?["listeners"]).Select(l => (
            (string?)l["name"] ?? "(unnamed)",
            SocketAddress(l["address"]) ?? throw new InvalidOperationException($"listener {(string?)l["name"]} has no socket address")));

    /// <summary>Each static cluster's name and its endpoints' addresses (host names are left out: only IP endpoints).</summary>
    public IEnumerable<(string Name, IReadOnlyList<IPEndPoint> Endpoints)> Clusters =>
        Array(root["static_resources"]?["clusters"]).Select(c => (
            (string?)c["name"] ?? "(unnamed)",
            (IReadOnlyList<IPEndPoint>)Array(c["load_assignment"]?["endpoints"])
                .SelectMany(e => Array(e["lb_endpoints"]))
                .Select(e => SocketAddress(e["endpoint"]?["address"]))
                .OfType<IPEndPoint>()
                .ToList()));

    /// <summary>Every file the configuration names (<c>filename:</c>, such as certificates and keys), wherever it is.</summary>
    public IEnumerable<string> Files => Descendants(root).OfType<JsonObject>()
        .Select(o => o["filename"]).OfType<JsonValue>().Select(v => (string)v!).Distinct(StringComparer.Ordinal);

    /// <summary>The clusters that ext_authz filters call (their <c>grpc_service.envoy_grpc.cluster_name</c>).</summary>
    public IEnumerable<string> ExtAuthzClusters => Descendants(root).OfType<JsonObject>()
        .Where(o => ((string?)o["name"])?.EndsWith(".ext_authz", StringComparison.Ordinal) == true)
        .Select(o => (string?)o["typed_config"]?["grpc_service"]?["envoy_grpc"]?["cluster_name"] ?? throw new InvalidOperationException($"the {(string?)o["name"]} filter has no envoy_grpc cluster"))
        .Distinct(StringComparer.Ordinal);

    private static IPEndPoint? SocketAddress(JsonNode? address) =>
        address?["socket_address"] is JsonObject socket && IPAddress.TryParse((string?)socket["address"], out var ip)
            ? new IPEndPoint(ip, (int?)socket["port_value"] ?? throw new InvalidOperationException($"no port_value in {socket.ToJsonString()}"))
            : null;

    private static IEnumerable<JsonNode> Array(JsonNode? list) => list?.AsArray().OfType<JsonNode>() ?? [];

    private static IEnumerable<JsonNode> Descendants(JsonNode node) => node switch
    {
        JsonObject o => [o, .. o.Select(p => p.Value).OfType<JsonNode>().SelectMany(Descendants)],
        JsonArray a => [a, .. a.OfType<JsonNode>().SelectMany(Descendants)],
        _ => [node],
    };
}
