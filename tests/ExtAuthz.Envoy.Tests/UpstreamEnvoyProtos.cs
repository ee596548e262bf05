using ExtAuthz.Tests.Shared;
using Google.Protobuf.Reflection;

namespace ExtAuthz.Envoy.Tests;

/// <summary>
/// Envoy's own ext_authz protos (<c>external_auth.proto</c> and what it imports, from
/// <see cref="GrpcJsXdsPackage"/>), compiled into a descriptor set for the wire-compatibility tests.
/// Needs npm and the npm registry (CI has both); without them the tests fail and say so.
/// </summary>
internal static class UpstreamEnvoyProtos
{
    public const string Package = GrpcJsXdsPackage.Package;
    public const string EntryPoint = "envoy/service/auth/v3/external_auth.proto";

    private static readonly Lazy<FileDescriptorSet> Set = new(Compile, LazyThreadSafetyMode.ExecutionAndPublication);

    public static FileDescriptorSet Descriptors => Set.Value;

    private static FileDescriptorSet Compile()
    {
        var deps = GrpcJsXdsPackage.Deps;
        var output = Path.Combine(Directory.CreateTempSubdirectory("extauthz-wire-").FullName, "upstream.pb");
        try
        {
            GrpcJsXdsPackage.Run(GrpcJsXdsPackage.Protoc, deps,
                "-I", Path.Combine(deps, "envoy-api"), "-I", Path.Combine(deps, "xds"), "-I", Path.Combine(deps, "googleapis"),
                "-I", Path.Combine(deps, "protoc-gen-validate"), "-I", Path.Combine(GrpcJsXdsPackage.GrpcTools, "build", "native", "include"),
                "--include_imports", $"--descriptor_set_out={output}", EntryPoint);
            return FileDescriptorSet.Parser.ParseFrom(File.ReadAllBytes(output));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(output)!, recursive: true);
        }
    }
}
