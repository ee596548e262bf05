using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Google.Protobuf.Reflection;

namespace ExtAuthz.Deploy.Tests.Schema;

/// <summary>
/// Envoy's v3 API as a descriptor set, compiled from the npm package <c>@grpc/grpc-js-xds@1.14.1</c>,
/// whose <c>deps/</c> carries Envoy's data-plane-api (commit f8b75d1e of 2024-07-19, just after Envoy
/// 1.31.0), cncf/xds, googleapis and protoc-gen-validate.
/// <list type="bullet">
/// <item>The package is fetched with <c>npm pack</c> once per test output folder and unpacked with
/// <c>tar</c>; nothing of it is committed. Without npm or the registry the tests fail and say so.</item>
/// <item>Every <c>envoy/**/v3/*.proto</c> is compiled (with <c>--include_imports</c>, so the udpa, xds,
/// validate and googleapis files they import come along), except the few that import what the package
/// does not carry (OpenCensus, OpenTelemetry and Prometheus protos): <see cref="Excluded"/> lists them.</item>
/// <item>The package's protoc-gen-validate is older than its Envoy API: its <c>StringRules</c> lacks
/// <c>ignore_empty</c>, which four Envoy files use, so protoc refuses them. A copy of validate.proto with
/// that one field added (as number 26, where PGV put it) is put first on the include path.</item>
/// <item>protoc is the one inside the restored Grpc.Tools package, as in ExtAuthz.Envoy.Tests.</item>
/// </list>
/// </summary>
internal static partial class EnvoyApiPackage
{
    public const string Package = "@grpc/grpc-js-xds@1.14.1";
    public const string PackageVersion = "1.14.1";

    /// <summary>The data-plane-api commit the package's <c>deps/envoy-api</c> is (grpc-node's submodule pin).</summary>
    public const string EnvoyApiCommit = "f8b75d1efa92bbf534596a013d9ca5873f79dd30";

    private const string Why = $"the deploy tests need npm and the npm registry to fetch {Package}, and Grpc.Tools' protoc to compile it";

    private static readonly string[] TypedStructs = ["udpa/type/v1/typed_struct.proto", "xds/type/v3/typed_struct.proto"];

    private static readonly Lazy<(FileDescriptorSet Set, IReadOnlyList<string> Excluded)> Compiled = new(Compile, LazyThreadSafetyMode.ExecutionAndPublication);

    public static FileDescriptorSet Descriptors => Compiled.Value.Set;

    /// <summary>The v3 files left out because an import of theirs is not in the package.</summary>
    public static IReadOnlyList<string> Excluded => Compiled.Value.Excluded;

    private static (FileDescriptorSet, IReadOnlyList<string>) Compile()
    {
        var deps = Fetch();
        var tools = GrpcToolsDirectory();
        var protoc = Path.Combine(tools, "tools", ProtocPlatform(), OperatingSystem.IsWindows() ? "protoc.exe" : "protoc");
        if (!File.Exists(protoc))
        {
            throw new InvalidOperationException($"protoc is not at {protoc} (restore the test project so Grpc.Tools is in the NuGet packages folder)");
        }

        var work = Directory.CreateTempSubdirectory("extauthz-envoy-api-").FullName;
        try
        {
            var patched = Path.Combine(work, "patched");
            PatchValidate(Path.Combine(deps, "protoc-gen-validate", "validate", "validate.proto"), Path.Combine(patched, "validate", "validate.proto"));
            string[] roots =
            [
                patched, Path.Combine(deps, "envoy-api"), Path.Combine(deps, "xds"), Path.Combine(deps, "googleapis"),
                Path.Combine(deps, "protoc-gen-validate"), Path.Combine(tools, "build", "native", "include"),
            ];
            var api = Path.Combine(deps, "envoy-api");
            var candidates = Directory.EnumerateFiles(Path.Combine(api, "envoy"), "*.proto", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(api, f).Replace('\\', '/'))
                .Where(f => f.Contains("/v3/", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal)
                .ToList();
            var resolvable = new Dictionary<string, bool>(StringComparer.Ordinal);
            var included = candidates.Where(f => Resolvable(f, roots, resolvable)).ToList();
            var excluded = candidates.Except(included).ToList();

            // Envoy also takes these wrappers wherever it takes an Any (typed_config); no v3 file imports them.
            included.AddRange(TypedStructs);

            var output = Path.Combine(work, "envoy-api.pb");
            var arguments = roots.SelectMany(r => new[] { "-I", r }).Concat(["--include_imports", $"--descriptor_set_out={output}"]).Concat(included).ToArray();
            TestEnvironment.Run(protoc, api, Why, arguments);
            return (FileDescriptorSet.Parser.ParseFrom(File.ReadAllBytes(output)), excluded);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Whether the file and everything it imports, transitively, is on the include path.</summary>
    private static bool Resolvable(string file, string[] roots, Dictionary<string, bool> known)
    {
        if (known.TryGetValue(file, out var answer))
        {
            return answer;
        }

        known[file] = true; // imports have no cycles; this only stops a malformed tree from recursing forever
        var path = roots.Select(r => Path.Combine(r, file)).FirstOrDefault(File.Exists);
        answer = path is not null && ImportLine().Matches(File.ReadAllText(path)).All(m => Resolvable(m.Groups[1].Value, roots, known));
        known[file] = answer;
        return answer;
    }

    private static void PatchValidate(string source, string destination)
    {
        const string Anchor = "optional bool strict = 25 [default = true];";
        var text = File.ReadAllText(source);
        var at = text.IndexOf(Anchor, StringComparison.Ordinal);
        if (at < 0 || text.Contains("ignore_empty", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{Package}'s validate.proto is not the one this patch was written for (StringRules.strict = 25 without ignore_empty): review EnvoyApiPackage.PatchValidate");
        }

        var end = at + Anchor.Length;
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        File.WriteAllText(destination, string.Concat(text.AsSpan(0, end), "\n  optional bool ignore_empty = 26;", text.AsSpan(end)));
    }

    private static string GrpcToolsDirectory()
    {
        if (TestEnvironment.Metadata("GrpcToolsPath") is { Length: > 0 } recorded && Directory.Exists(recorded))
        {
            return recorded;
        }

        var version = TestEnvironment.Metadata("GrpcToolsVersion");
        if (string.IsNullOrEmpty(version))
        {
            throw new InvalidOperationException("the Grpc.Tools version was not recorded at build time (see ExtAuthz.Deploy.Tests.csproj)");
        }

        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (string.IsNullOrEmpty(packages))
        {
            packages = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        }

        return Path.Combine(packages, "grpc.tools", version.ToLowerInvariant());
    }

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
        var root = Path.Combine(AppContext.BaseDirectory, "upstream-protos", $"grpc-js-xds-{PackageVersion}");
        if (IsComplete(root))
        {
            return Path.Combine(root, "package", "deps");
        }

        var staging = Path.Combine(AppContext.BaseDirectory, "upstream-protos", $"staging-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            TestEnvironment.Run("npm", staging, Why, "pack", Package, "--silent", "--pack-destination", staging);
            var tarball = Directory.GetFiles(staging, "*.tgz").Single();
            TestEnvironment.Run("tar", staging, Why, "-xzf", Path.GetFileName(tarball));
            if (!IsComplete(staging))
            {
                throw new InvalidOperationException($"{Package} unpacked has no deps/envoy-api/envoy/config/bootstrap/v3/bootstrap.proto: has the package's layout changed?");
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
        File.Exists(Path.Combine(root, "package", "deps", "envoy-api", "envoy", "config", "bootstrap", "v3", "bootstrap.proto"))
        && File.ReadAllText(Path.Combine(root, "package", "package.json")).Contains($"\"version\": \"{PackageVersion}\"", StringComparison.Ordinal);

    [GeneratedRegex("""^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;""", RegexOptions.Multiline)]
    private static partial Regex ImportLine();
}
