using System.Text.Json.Nodes;
using ExtAuthz.Deploy.Tests.Schema;
using ExtAuthz.Deploy.Tests.Validation;
using ExtAuthz.Deploy.Tests.Yaml;

namespace ExtAuthz.Deploy.Tests;

/// <summary>The strict descriptor-driven parser: what it accepts, and each way it refuses, with the path and the reason.</summary>
public sealed class ProtoJsonValidatorTests
{
    private const string Cluster = "envoy.config.cluster.v3.Cluster";
    private const string Listener = "envoy.config.listener.v3.Listener";

    private const string GoodCluster = """
        name: extauthz
        type: static
        connectTimeout: 0.25s
        typed_extension_protocol_options:
          envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
            "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
            explicit_http_config: {http2_protocol_options: {max_concurrent_streams: "100"}}
        per_connection_buffer_limit_bytes: 32768
        metadata: {filter_metadata: {example: {anything: [1, "two", {three: null}]}}}
        load_assignment:
          cluster_name: extauthz
          endpoints:
          - lb_endpoints:
            - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 9191}}}
        """;

    [Fact]
    public void A_valid_cluster_parses_with_json_names_lowercase_enums_numeric_strings_any_and_struct()
    {
        var result = Validate(Cluster, GoodCluster);

        Assert.True(result.Valid, string.Join('\n', result.Errors));
        var normalized = result.Normalized!.AsObject();
        Assert.Equal("STATIC", normalized["type"]!.GetValue<string>());
        Assert.Equal("0.25s", normalized["connect_timeout"]!.GetValue<string>());
        Assert.Contains(result.MessageOccurrences, m => m.Type == "envoy.config.core.v3.Http2ProtocolOptions");
        Assert.Equal("extauthz", result.Values("envoy.config.endpoint.v3.ClusterLoadAssignment.cluster_name").Single().Value!.GetValue<string>());
    }

    [Theory]
    [InlineData("name: a\nconect_timeout: 1s", "conect_timeout", "unknown field 'conect_timeout' in envoy.config.cluster.v3.Cluster")]
    [InlineData("name: a\nconnectTimeout: 1s\nconnect_timeout: 2s", "connect_timeout", "field connect_timeout of envoy.config.cluster.v3.Cluster is given twice")]
    [InlineData("name: on", "name", "envoy.config.cluster.v3.Cluster.name is a string and needs a string, not the bool true (quote it in YAML")]
    [InlineData("name: 8080", "name", "is a string and needs a string, not the number 8080")]
    [InlineData("name: a\ntype: STATICALLY", "type", "'STATICALLY' is not a value of envoy.config.cluster.v3.Cluster.DiscoveryType")]
    [InlineData("name: a\nconnect_timeout: 250ms", "connect_timeout", "a Duration needs a string of seconds with an 's'")]
    [InlineData("name: a\nconnect_timeout: 5", "connect_timeout", "a Duration needs a string of seconds")]
    [InlineData("name: a\nper_connection_buffer_limit_bytes: -1", "per_connection_buffer_limit_bytes", "-1 is out of range for google.protobuf.UInt32Value.value")]
    [InlineData("name: a\nper_connection_buffer_limit_bytes: 1.5", "per_connection_buffer_limit_bytes", "needs a whole number, not the string \"1.5\"")]
    [InlineData("name: a\nload_assignment: []", "load_assignment", "envoy.config.endpoint.v3.ClusterLoadAssignment must be an object, not an array")]
    [InlineData("name: a\ntyped_extension_protocol_options: {x: {\"@type\": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOption}}", "typed_extension_protocol_options.x[\"@type\"]", "unknown @type 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOption'")]
    [InlineData("name: a\ntyped_extension_protocol_options: {x: {explicit_http_config: {}}}", "typed_extension_protocol_options.x", "an Any needs \"@type\"")]
    [InlineData("name: a\ntyped_extension_protocol_options: {x: {\"@type\": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions, explicit_http_config: {http2_protocol_options: {max_concurent_streams: 1}}}}", "typed_extension_protocol_options.x.explicit_http_config.http2_protocol_options.max_concurent_streams", "unknown field 'max_concurent_streams' in envoy.config.core.v3.Http2ProtocolOptions")]
    [InlineData("name: a\ntype: STATIC\ncluster_type: {name: x}", "cluster_type", "cluster_type and type of envoy.config.cluster.v3.Cluster are both set, but they are members of oneof cluster_discovery_type")]
    [InlineData("name: a\ntype: 99", "type", "99 is not a defined value of envoy.config.cluster.v3.Cluster.DiscoveryType")]
    [InlineData("name: ''", "name", "envoy.config.cluster.v3.Cluster.name is required (at least 1 character)")]
    [InlineData("name: a\nhttp2_protocol_options: {}", "http2_protocol_options", "envoy.config.cluster.v3.Cluster.http2_protocol_options is deprecated")]
    [InlineData("name: a\nload_assignment: {cluster_name: a, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: x, port_value: 70000}}}}]}]}", "port_value", "envoy.config.core.v3.SocketAddress.port_value must be at most 65535, not 70000")]
    public void Mistakes_are_refused_with_their_path_and_reason(string yaml, string pathEnd, string message)
    {
        var result = Validate(Cluster, yaml);

        var error = Assert.Single(result.Errors, e => e.Message.Contains(message, StringComparison.Ordinal));
        Assert.EndsWith(pathEnd, error.Path, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_rules_apply_to_defaults_required_oneofs_and_nested_typed_configs()
    {
        var result = Validate(Listener, """
            name: l
            address: {socket_address: {address: 0.0.0.0, port_value: 1}}
            filter_chains:
            - filters:
              - name: envoy.filters.network.tcp_proxy
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  tunneling_config: {use_post: true}
            """);

        var errors = string.Join('\n', result.Errors);
        Assert.Contains("filter_chains[0].filters[0].typed_config: envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy needs one of cluster, weighted_clusters (oneof cluster_specifier is required)", errors, StringComparison.Ordinal);
        Assert.Contains("filter_chains[0].filters[0].typed_config.stat_prefix: envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.stat_prefix is required", errors, StringComparison.Ordinal);
        Assert.Contains("filter_chains[0].filters[0].typed_config.tunneling_config.hostname: envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.TunnelingConfig.hostname is required", errors, StringComparison.Ordinal);
        Assert.Equal(3, result.Errors.Count);
    }

    [Fact]
    public void Header_names_are_checked_as_Envoy_checks_them()
    {
        var result = Validate("envoy.config.core.v3.HeaderValueOption", "header: {key: \"x\\nbad\", value: v}");

        Assert.Contains(result.Errors, e => e.Path == "header.key" && e.Message.Contains("is not a valid HTTP header name", StringComparison.Ordinal));
    }

    [Fact]
    public void Wrappers_take_their_scalar_and_typed_structs_are_validated_as_their_type()
    {
        var good = Validate(Listener, """
            name: l
            address: {socket_address: {address: 0.0.0.0, port_value: 1}}
            per_connection_buffer_limit_bytes: "1024"
            filter_chains:
            - filters:
              - name: x
                typed_config:
                  "@type": type.googleapis.com/xds.type.v3.TypedStruct
                  type_url: type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  value: {stat_prefix: s, cluster: c}
            """);
        var bad = Validate(Listener, """
            name: l
            address: {socket_address: {address: 0.0.0.0, port_value: 1}}
            filter_chains:
            - filters:
              - name: x
                typed_config:
                  "@type": type.googleapis.com/udpa.type.v1.TypedStruct
                  type_url: type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  value: {stat_prefix: s, cluster: c, idle: 1}
            """);

        Assert.True(good.Valid, string.Join('\n', good.Errors));
        Assert.Equal("filter_chains[0].filters[0].typed_config.value.idle", Assert.Single(bad.Errors).Path);
    }

    [Fact]
    public void The_overlay_adds_tcp_proxys_connect_mode_which_then_validates_strictly()
    {
        const string Base = "stat_prefix: s\ncluster: c\nmax_early_data_bytes: 1024\n";

        Assert.True(Validate("envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", Base + "upstream_connect_mode: on_downstream_data").Valid);
        Assert.Contains("'ON_DOWNSTREAM_HANDSHAKE' is not a value of envoy.extensions.filters.network.tcp_proxy.v3.UpstreamConnectMode",
            Assert.Single(Validate("envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", Base + "upstream_connect_mode: ON_DOWNSTREAM_HANDSHAKE").Errors).Message,
            StringComparison.Ordinal);
    }

    private static ValidationResult Validate(string type, string yaml) =>
        new ProtoJsonValidator(EnvoySchema.Instance).Validate(EnvoyYaml.Parse(yaml).Root, type);
}
