using System.ComponentModel;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;

namespace ExtAuthz.Tests.Shared;

/// <summary>
/// The npm package <c>@grpc/grpc-js-xds@1.14.1</c>, whose <c>deps/</c> tree carries Envoy's API
/// (<c>envoy-api</c>), <c>xds</c>, <c>googleapis</c> and <c>protoc-gen-validate</c>, and the protoc that
/// compiles it, for the test projects that check our protos and Envoy configurations against Envoy's own
/// (compiled into each of them: <c>&lt;Compile Include="..\Shared\GrpcJsXdsPackage.cs"/&gt;</c>).
/// <list type="bullet">
/// <item>The package is fetched with <c>npm pack</c> once per test output folder (<c>upstream-protos/</c> next
/// to the test assembly) and unpacked with <c>tar</c>; nothing of it is committed. Without npm or the
/// registry the tests fail and say so: they must not skip, because they are what proves the wire format
/// and the configurations.</item>
/// <item>protoc is the one inside the restored Grpc.Tools package: the path MSBuild recorded at build time
/// (assembly metadata <c>GrpcToolsPath</c>), else <c>$NUGET_PACKAGES</c> (or <c>~/.nuget/packages</c>)
/// <c>/grpc.tools/&lt;GrpcToolsVersion&gt;</c>.</item>
/// </list>
/// </summary>
internal static class GrpcJsXdsPackage
{
    public const string Package = "@grpc/grpc-js-xds@1.14.1";
    public const string Version = "1.14.1";

    private const string Why = $"these tests need npm and the npm registry to fetch {Package}, and Grpc.Tools' protoc to compile it";

    /// <summary>Files the tests compile from; their absence means the package's layout changed.</summary>
    private static readonly string[] Expected = ["envoy/service/auth/v3/external_auth.proto", "envoy/config/bootstrap/v3/bootstrap.proto"];

    private static readonly Lazy<string> DepsFolder = new(Fetch, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The package's <c>deps/</c> folder, fetched and unpacked unless an earlier run already did.</summary>
    public static string Deps => DepsFolder.Value;

    /// <summary>The Grpc.Tools package folder (its <c>build/native/include</c> has the well-known types).</summary>
    public static string GrpcTools
    {
        get
        {
            if (Metadata("GrpcToolsPath") is { Length: > 0 } recorded && Directory.Exists(recorded))
            {
                return recorded;
            }

            var version = Metadata("GrpcToolsVersion");
            if (string.IsNullOrEmpty(version))
            {
                throw new InvalidOperationException("the Grpc.Tools version was not recorded at build time (the test project's AssemblyMetadata GrpcToolsVersion)");
            }

            var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
            if (string.IsNullOrEmpty(packages))
            {
                packages = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            }

            return Path.Combine(packages, "grpc.tools", version.ToLowerInvariant());
        }
    }

    /// <summary>Grpc.Tools' protoc for this machine.</summary>
    public static string Protoc
    {
        get
        {
            var protoc = Path.Combine(GrpcTools, "tools", ProtocPlatform(), OperatingSystem.IsWindows() ? "protoc.exe" : "protoc");
            return File.Exists(protoc)
                ? protoc
                : throw new InvalidOperationException($"protoc is not at {protoc} (restore the test project so Grpc.Tools is in the NuGet packages folder)");
        }
    }

    /// <summary>Runs a program to completion; a failure names the command and carries its output.</summary>
    public static void Run(string program, string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var command = $"{program} {string.Join(' ', arguments.Take(12))}{(arguments.Length > 12 ? $" … ({arguments.Length} arguments)" : "")}";
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {command}");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"could not run {program} ({e.Message}); {Why}", e);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{command} did not finish in 3 minutes; {Why}");
            }

            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{command} exited {process.ExitCode}; {Why}:\n{stderr.Result}{stdout.Result}");
            }
        }
    }

    private static string Fetch()
    {
        var root = Path.Combine(AppContext.BaseDirectory, "upstream-protos", $"grpc-js-xds-{Version}");
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
                throw new InvalidOperationException($"{Package} unpacked lacks deps/envoy-api/{string.Join(" or ", Expected)}: has the package's layout changed?");
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
        Expected.All(f => File.Exists(Path.Combine(root, "package", "deps", "envoy-api", f)))
        && File.ReadAllText(Path.Combine(root, "package", "package.json")).Contains($"\"version\": \"{Version}\"", StringComparison.Ordinal);

    private static string? Metadata(string key) =>
        typeof(GrpcJsXdsPackage).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;

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
}
