using System.ComponentModel;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using Google.Protobuf.Reflection;

namespace ExtAuthz.Envoy.Tests;

/// <summary>
/// Envoy's own ext_authz protos, compiled into a descriptor set, for the wire-compatibility tests.
/// <list type="bullet">
/// <item>Source: the npm package <c>@grpc/grpc-js-xds@1.14.1</c>, whose <c>deps/</c> tree carries Envoy's
/// API (<c>envoy-api</c>), <c>xds</c>, <c>googleapis</c> and <c>protoc-gen-validate</c>. It is fetched with
/// <c>npm pack</c> once per test output folder (<c>upstream-protos/</c> next to the test assembly) and
/// unpacked with <c>tar</c>; nothing of it is committed.</item>
/// <item>Compiler: the <c>protoc</c> inside the restored Grpc.Tools package — the path MSBuild recorded at
/// build time, else <c>$NUGET_PACKAGES</c> (or <c>~/.nuget/packages</c>) <c>/grpc.tools/&lt;version&gt;</c> with
/// the version from Directory.Packages.props, also recorded at build time.</item>
/// </list>
/// Needs npm and the npm registry (CI has both). Without them the tests fail and say so: they must not
/// skip, because they are what proves the wire format.
/// </summary>
internal static class UpstreamEnvoyProtos
{
    public const string Package = "@grpc/grpc-js-xds@1.14.1";
    public const string EntryPoint = "envoy/service/auth/v3/external_auth.proto";

    private static readonly Lazy<FileDescriptorSet> Set = new(Compile, LazyThreadSafetyMode.ExecutionAndPublication);

    public static FileDescriptorSet Descriptors => Set.Value;

    private static FileDescriptorSet Compile()
    {
        var deps = Fetch();
        var tools = GrpcToolsDirectory();
        var protoc = Path.Combine(tools, "tools", ProtocPlatform(), OperatingSystem.IsWindows() ? "protoc.exe" : "protoc");
        if (!File.Exists(protoc))
        {
            throw new InvalidOperationException($"protoc is not at {protoc} (restore the test project so Grpc.Tools is in the NuGet packages folder)");
        }

        var output = Path.Combine(Directory.CreateTempSubdirectory("extauthz-wire-").FullName, "upstream.pb");
        try
        {
            Run(protoc, deps,
                "-I", Path.Combine(deps, "envoy-api"), "-I", Path.Combine(deps, "xds"), "-I", Path.Combine(deps, "googleapis"),
                "-I", Path.Combine(deps, "protoc-gen-validate"), "-I", Path.Combine(tools, "build", "native", "include"),
                "--include_imports", $"--descriptor_set_out={output}", EntryPoint);
            return FileDescriptorSet.Parser.ParseFrom(File.ReadAllBytes(output));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(output)!, recursive: true);
        }
    }

    private static string GrpcToolsDirectory()
    {
        var recorded = Metadata("GrpcToolsPath");
        if (!string.IsNullOrEmpty(recorded) && Directory.Exists(recorded))
        {
            return recorded;
        }

        var version = Metadata("GrpcToolsVersion");
        if (string.IsNullOrEmpty(version))
        {
            throw new InvalidOperationException("the Grpc.Tools version was not recorded at build time (see ExtAuthz.Envoy.Tests.csproj)");
        }

        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (string.IsNullOrEmpty(packages))
        {
            packages = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        }

        return Path.Combine(packages, "grpc.tools", version.ToLowerInvariant());
    }

    private static string? Metadata(string key) =>
        typeof(UpstreamEnvoyProtos).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;

    private static string ProtocPlatform()
    {
        var arch = RuntimeInformation.OSArchitecture;
        if (OperatingSystem.IsMacOS())
        {
            return "macosx_universal";
        }

        var os = OperatingSystem.IsWindows() ? "windows" : "linux";
        return arch switch
        {
            Architecture.X64 => $"{os}_x64",
            Architecture.X86 => $"{os}_x86",
            Architecture.Arm64 when os == "linux" => "linux_arm64",
            Architecture.Arm64 => "windows_x64",
            _ => throw new PlatformNotSupportedException($"Grpc.Tools ships no protoc for {os} on {arch}"),
        };
    }

    /// <summary>The package's <c>deps/</c> folder, fetched and unpacked unless an earlier run already did.</summary>
    private static string Fetch()
    {
        var root = Path.Combine(AppContext.BaseDirectory, "upstream-protos", "grpc-js-xds-1.14.1");
        if (IsComplete(root))
        {
            return Path.Combine(root, "package", "deps");
        }

        var staging = Path.Combine(AppContext.BaseDirectory, "upstream-protos", $"staging-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            Run("npm", staging, "pack", Package, "--silent", "--pack-destination", staging);
            var tarball = Directory.GetFiles(staging, "*.tgz").Single();
            Run("tar", staging, "-xzf", Path.GetFileName(tarball));
            if (!IsComplete(staging))
            {
                throw new InvalidOperationException($"{Package} unpacked has no deps/envoy-api/{EntryPoint}: has the package's layout changed?");
            }
        }
        catch
        {
            Directory.Delete(staging, recursive: true);
            throw;
        }

        try
        {
            Directory.Move(staging, root);
        }
        catch (IOException)
        {
            // Another run got there first (or left a broken copy); this run's own copy is complete.
            return IsComplete(root) ? Path.Combine(root, "package", "deps") : Path.Combine(staging, "package", "deps");
        }

        return Path.Combine(root, "package", "deps");
    }

    private static bool IsComplete(string root) =>
        File.Exists(Path.Combine(root, "package", "deps", "envoy-api", EntryPoint))
        && File.ReadAllText(Path.Combine(root, "package", "package.json")).Contains("\"version\": \"1.14.1\"", StringComparison.Ordinal);

    private static void Run(string program, string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var command = $"{program} {string.Join(' ', arguments)}";
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {command}");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException(
                $"could not run {program} ({e.Message}). The Envoy wire-compatibility tests need npm and the npm registry to fetch {Package}; install Node.js/npm and rerun.", e);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{command} did not finish in 3 minutes (the wire-compatibility tests need the npm registry to fetch {Package})");
            }

            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    $"{command} exited {process.ExitCode}; the Envoy wire-compatibility tests need npm and the npm registry to fetch {Package}: {stderr.Result}{stdout.Result}");
            }
        }
    }
}
