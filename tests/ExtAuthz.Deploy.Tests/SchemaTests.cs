using ExtAuthz.Deploy.Tests.Schema;
using Google.Protobuf.Reflection;

namespace ExtAuthz.Deploy.Tests;

/// <summary>The compiled API: complete enough, and the overlay only where the API is older than the configuration.</summary>
public sealed class SchemaTests
{
    [Fact]
    public void Every_v3_file_compiles_but_those_that_import_what_the_package_lacks()
    {
        Assert.Equal(
            [
                "envoy/config/trace/v3/opencensus.proto", "envoy/config/trace/v3/trace.proto",
                "envoy/extensions/access_loggers/open_telemetry/v3/logs_service.proto", "envoy/service/metrics/v3/metrics_service.proto",
                "envoy/service/trace/v3/trace_service.proto",
            ],
            EnvoyApiPackage.Excluded);
        Assert.True(EnvoySchema.Instance.Files.Count(f => f.Name.StartsWith("envoy/", StringComparison.Ordinal)) > 300);
        Assert.NotNull(EnvoySchema.Instance.Registry.Find("envoy.config.bootstrap.v3.Bootstrap"));
    }

    [Fact]
    public void The_overlay_adds_only_what_the_compiled_API_does_not_have()
    {
        var upstream = EnvoyApiPackage.Descriptors.File.Single(f => f.Name == "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto");
        var tcpProxy = EnvoySchema.Instance.Message("envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy");

        Assert.DoesNotContain(upstream.EnumType, e => e.Name == "UpstreamConnectMode");
        Assert.DoesNotContain(upstream.MessageType.Single(m => m.Name == "TcpProxy").Field, f => f.Number is 21 or 22);
        Assert.Equal(FieldType.Enum, tcpProxy.FindFieldByName("upstream_connect_mode").FieldType);
        Assert.Equal("google.protobuf.UInt32Value", tcpProxy.FindFieldByName("max_early_data_bytes").MessageType.FullName);
        Assert.All(SchemaOverlay.Additions, a => Assert.StartsWith("Envoy 1.37.0", a.Since, StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_rules_are_read_from_the_field_options()
    {
        var stat = EnvoySchema.Instance.Message("envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy").FindFieldByName("stat_prefix");

        Assert.Equal(1m, EnvoySchema.Instance.Rules.For(stat)?.Nested("string")?.Number("min_len"));
    }
}
