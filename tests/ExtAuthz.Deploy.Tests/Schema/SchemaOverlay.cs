using Google.Protobuf.Reflection;

namespace ExtAuthz.Deploy.Tests.Schema;

/// <summary>
/// The few fields envoy/envoy.yaml needs that Envoy added after the compiled API (data-plane-api of
/// 2024-07-19), declared here with their upstream names, numbers and types so that the strict
/// validation still covers them. Each names the Envoy release that introduced it, which raises the
/// configuration's floor to that release. <see cref="Apply"/> refuses to run once the compiled API has
/// any of them itself: the overlay must then go.
/// </summary>
internal static class SchemaOverlay
{
    private const string TcpProxyFile = "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto";
    private const string TcpProxyPackage = "envoy.extensions.filters.network.tcp_proxy.v3";

    /// <summary>Each added element: its full name and the Envoy release (and data-plane-api commit) that introduced it.</summary>
    public static IReadOnlyList<(string Element, string Since)> Additions { get; } =
    [
        ($"{TcpProxyPackage}.UpstreamConnectMode", "Envoy 1.37.0 (data-plane-api af09e7ce, 2025-11-24)"),
        ($"{TcpProxyPackage}.TcpProxy.upstream_connect_mode", "Envoy 1.37.0 (data-plane-api af09e7ce, 2025-11-24)"),
        ($"{TcpProxyPackage}.TcpProxy.max_early_data_bytes", "Envoy 1.37.0 (data-plane-api af09e7ce, 2025-11-24)"),
    ];

    /// <summary>The compiled files with the additions made (copies; the input is left alone).</summary>
    public static List<FileDescriptorProto> Apply(IEnumerable<FileDescriptorProto> files)
    {
        var result = files.Select(f => f.Clone()).ToList();
        var file = result.SingleOrDefault(f => f.Name == TcpProxyFile)
            ?? throw new InvalidOperationException($"the compiled API has no {TcpProxyFile}");
        var tcpProxy = file.MessageType.Single(m => m.Name == "TcpProxy");
        if (file.EnumType.Any(e => e.Name == "UpstreamConnectMode")
            || tcpProxy.Field.Any(f => f.Number is 21 or 22 || f.Name is "upstream_connect_mode" or "max_early_data_bytes"))
        {
            throw new InvalidOperationException(
                $"the compiled API ({EnvoyApiPackage.Package}) now has TcpProxy's upstream_connect_mode or max_early_data_bytes itself: remove them from SchemaOverlay");
        }

        file.EnumType.Add(new EnumDescriptorProto
        {
            Name = "UpstreamConnectMode",
            Value =
            {
                new EnumValueDescriptorProto { Name = "IMMEDIATE", Number = 0 },
                new EnumValueDescriptorProto { Name = "ON_DOWNSTREAM_DATA", Number = 1 },
                new EnumValueDescriptorProto { Name = "ON_DOWNSTREAM_TLS_HANDSHAKE", Number = 2 },
            },
        });
        tcpProxy.Field.Add(new FieldDescriptorProto
        {
            Name = "upstream_connect_mode",
            JsonName = "upstreamConnectMode",
            Number = 21,
            Label = FieldDescriptorProto.Types.Label.Optional,
            Type = FieldDescriptorProto.Types.Type.Enum,
            TypeName = $".{TcpProxyPackage}.UpstreamConnectMode",
        });
        tcpProxy.Field.Add(new FieldDescriptorProto
        {
            Name = "max_early_data_bytes",
            JsonName = "maxEarlyDataBytes",
            Number = 22,
            Label = FieldDescriptorProto.Types.Label.Optional,
            Type = FieldDescriptorProto.Types.Type.Message,
            TypeName = ".google.protobuf.UInt32Value",
        });
        return result;
    }
}
