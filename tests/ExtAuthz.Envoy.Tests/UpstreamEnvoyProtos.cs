using System.Diagnostics;
using System.Reflection;
using Google.Protobuf.Reflection;

namespace ExtAuthz.Envoy.Tests;

/// <summary>
/// Envoy's own ext_authz protos, compiled into a descriptor set. They come from the npm package
/// <c>@grpc/grpc-js-xds@1.14.1</c>, whose <c>deps/</c> tree carries Envoy's API, xds, googleapis and
/// protoc-gen-validate; the package is fetched with <c>npm pack</c> into the temp folder (once per
/// machine) and compiled with the protoc inside the restored Grpc.Tools package. Nothing of it is
/// committed. Needs npm and the npm registry; without them the tests that use this fail and say why.
/// </summary>
internal static class UpstreamEnvoyProtos
{
    public const string Package = "@grpc/grpc-js-xds@1.14.1";

    private static readonly Lazy<FileDescriptorSet> Set = new(Compile, LazyThreadSafetyMode.ExecutionAndPublication);

    public static FileDescriptorSet Descriptors => Set.Value;

    private static FileDescriptorSet Compile()
    {
        var deps = Fetch();
        var tools = typeof(UpstreamEnvoyProtos).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "GrpcToolsPath").Value
            ?? throw new InvalidOperationException("the Grpc.Tools package path was not recorded at build time");
        var protoc = Path.Combine(tools, "tools", "linux_x64", "protoc");
        var output = Path.Combine(Directory.CreateTempSubdirectory("extauthz-wire-").FullName, "upstream.pb");
        Run(protoc, deps,
            "-I", Path.Combine(deps, "envoy-api"), "-I", Path.Combine(deps, "xds"), "-I", Path.Combine(deps, "googleapis"),
            "-I", Path.Combine(deps, "protoc-gen-validate"), "-I", Path.Combine(tools, "build", "native", "include"),
            "--include_imports", $"--descriptor_set_out={output}", "envoy/service/auth/v3/external_auth.proto");
        return FileDescriptorSet.Parser.ParseFrom(File.ReadAllBytes(output));
    }

    /// <summary>The package's <c>deps/</c> folder, fetched and unpacked if it is not there yet.</summary>
    private static string Fetch()
    {
        var root = Path.Combine(Path.GetTempPath(), "extauthz-grpc-js-xds-1.14.1");
        var deps = Path.Combine(root, "package", "deps");
        if (File.Exists(Path.Combine(deps, "envoy-api", "envoy", "service", "auth", "v3", "external_auth.proto")))
        {
            return deps;
        }

        var staging = Directory.CreateTempSubdirectory("extauthz-npm-").FullName;
        Run("npm", staging, "pack", Package, "--silent", "--pack-destination", staging);
        var tarball = Directory.GetFiles(staging, "*.tgz").Single();
        Run("tar", staging, "-xzf", tarball);
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }

        Directory.Move(staging, root);
        return deps;
    }

    private static void Run(string program, string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not finish in 3 minutes");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{program} {string.Join(' ', arguments)} exited {process.ExitCode} (the wire test needs npm and the npm registry, or {Package} already unpacked in the temp folder): {stderr.Result}{stdout.Result}");
        }
    }
}
