using System.Text.RegularExpressions;
using ExtAuthz.Tests.Shared;
using Google.Protobuf.Reflection;

namespace ExtAuthz.Deploy.Tests.Schema;

/// <summary>
/// Envoy's v3 API as a descriptor set, compiled from the npm package <c>@grpc/grpc-js-xds@1.14.1</c>
/// (<see cref="GrpcJsXdsPackage"/>: fetched once per test output folder, never committed), whose
/// <c>deps/</c> carries Envoy's data-plane-api (commit f8b75d1e of 2024-07-19, just after Envoy 1.31.0),
/// cncf/xds, googleapis and protoc-gen-validate.
/// <list type="bullet">
/// <item>Every <c>envoy/**/v3/*.proto</c> is compiled (with <c>--include_imports</c>, so the udpa, xds,
/// validate and googleapis files they import come along), except the few that import what the package
/// does not carry (OpenCensus, OpenTelemetry and Prometheus protos): <see cref="Excluded"/> lists them.</item>
/// <item>The package's protoc-gen-validate is older than its Envoy API: its <c>StringRules</c> lacks
/// <c>ignore_empty</c>, which four Envoy files use, so protoc refuses them. A copy of validate.proto with
/// that one field added (as number 26, where PGV put it) is put first on the include path.</item>
/// <item>protoc is the one inside the restored Grpc.Tools package.</item>
/// </list>
/// </summary>
internal static partial class EnvoyApiPackage
{
    public const string Package = GrpcJsXdsPackage.Package;

    /// <summary>The data-plane-api commit the package's <c>deps/envoy-api</c> is (grpc-node's submodule pin).</summary>
    public const string EnvoyApiCommit = "f8b75d1efa92bbf534596a013d9ca5873f79dd30";

    private static readonly string[] TypedStructs = ["udpa/type/v1/typed_struct.proto", "xds/type/v3/typed_struct.proto"];

    private static readonly Lazy<(FileDescriptorSet Set, IReadOnlyList<string> Excluded)> Compiled = new(Compile, LazyThreadSafetyMode.ExecutionAndPublication);

    public static FileDescriptorSet Descriptors => Compiled.Value.Set;

    /// <summary>The v3 files left out because an import of theirs is not in the package.</summary>
    public static IReadOnlyList<string> Excluded => Compiled.Value.Excluded;

    private static (FileDescriptorSet, IReadOnlyList<string>) Compile()
    {
        var deps = GrpcJsXdsPackage.Deps;
        var tools = GrpcJsXdsPackage.GrpcTools;
        var protoc = GrpcJsXdsPackage.Protoc;

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
            GrpcJsXdsPackage.Run(protoc, api, arguments);
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

    [GeneratedRegex("""^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;""", RegexOptions.Multiline)]
    private static partial Regex ImportLine();
}
