using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using ExtAuthz.K8s.Tests.Support;
using static ExtAuthz.K8s.Tests.Support.Manifests;

namespace ExtAuthz.K8s.Tests;

/// <summary>
/// The Dockerfile's shape, since no Docker runs here: an SDK stage that publishes the program, a runtime
/// stage that runs it as the pod's non-root user, and a build context that holds exactly what the
/// publish reads.
/// </summary>
public sealed partial class DockerfileTests
{
    /// <summary>The aspnet images' $APP_UID.</summary>
    private const long AppUid = 1654;

    private static readonly List<(string Instruction, string Arguments, int Stage)> Instructions = Parse(Repository.ReadText("Dockerfile"));

    [Fact]
    public void An_SDK_stage_publishes_the_program_and_an_ASP_NET_stage_runs_it()
    {
        var stages = Instructions.Where(i => i.Instruction == "FROM").Select(i => i.Arguments).ToList();
        Assert.Equal(["mcr.microsoft.com/dotnet/sdk:10.0 AS build", "mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime"], stages);

        var publish = Assert.Single(Instructions, i => i.Stage == 0 && i.Instruction == "RUN" && i.Arguments.Contains("dotnet publish", StringComparison.Ordinal));
        var command = Publish().Match(publish.Arguments);
        Assert.True(command.Success, $"expected `dotnet publish PROJECT -c Release -o DIR`, found {publish.Arguments}");
        var project = Repository.PathOf(command.Groups["project"].Value);
        var assembly = AssemblyName(Assert.Single(Directory.GetFiles(project, "*.csproj")));
        var output = command.Groups["output"].Value;

        Assert.Contains(("COPY", $"--from=build {output} .", 1), Instructions);
        Assert.Contains(("WORKDIR", output, 1), Instructions);
        Assert.Equal(["dotnet", $"{output}/{assembly}.dll"], ExecForm("ENTRYPOINT"));
        Assert.Equal(["serve"], ExecForm("CMD"));
    }

    [Fact]
    public void The_runtime_runs_as_the_pods_non_root_user()
    {
        var user = Assert.Single(Instructions, i => i.Stage == 1 && i.Instruction == "USER").Arguments;
        var uid = user == "$APP_UID" ? AppUid : long.Parse(user, CultureInfo.InvariantCulture);

        Assert.NotEqual(0, uid);
        Assert.Equal(uid, Container(ExtAuthzContainer).SecurityContext.RunAsUser);
    }

    [Fact]
    public void The_image_exposes_the_Check_tunnel_and_admin_ports_serve_uses_in_the_pod()
    {
        var serve = Serve();
        var exposed = Instructions.Where(i => i.Stage == 1 && i.Instruction == "EXPOSE").SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries));

        Assert.Equal([serve.Listen!.Port, serve.MqttTunnel!.Port, serve.Admin!.Port], exposed.Select(p => int.Parse(p, CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void The_build_context_holds_what_the_publish_reads_and_nothing_private()
    {
        var ignore = new DockerIgnore(Repository.ReadText(".dockerignore"));
        var copied = Instructions.Where(i => i.Stage == 0 && i.Instruction == "COPY").Select(i => i.Arguments.Split(' ')[0].Trim('/')).ToList();
        bool InContext(string path) => !ignore.Excludes(path) && copied.Any(c => c == "." || path == c || path.StartsWith(c + "/", StringComparison.Ordinal));

        var needed = NeededByPublish().ToList();
        Assert.Contains("protos/envoy/service/auth/v3/external_auth.proto", needed);
        Assert.All(needed, path => Assert.True(InContext(path), $"the image build needs {path}, which is not in its context"));

        Assert.All(
            [".git/config", "examples/quickstart/certs/ca.key", "examples/quickstart-secrets/alice.secret", "k8s/deployment.yaml", "tests/ExtAuthz.K8s.Tests/PodTests.cs", "src/ExtAuthz/bin/Release/net10.0/ExtAuthz.dll", "src/ExtAuthz/obj/project.assets.json"],
            path => Assert.True(ignore.Excludes(path), $"{path} would be sent to the image build"));
    }

    /// <summary>Every file <c>dotnet publish src/ExtAuthz</c> reads: its project and those it references, the protos they compile, and the repository-wide build settings.</summary>
    private static IEnumerable<string> NeededByPublish()
    {
        IEnumerable<string> Files(string directory) =>
            Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(Repository.Root, f).Replace(Path.DirectorySeparatorChar, '/'))
                .Where(f => !f.Split('/').Any(part => part is "bin" or "obj"));

        var projects = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([Repository.PathOf("src/ExtAuthz/ExtAuthz.csproj")]);
        var roots = new HashSet<string>(StringComparer.Ordinal) { "global.json", "Directory.Build.props", "Directory.Packages.props", ".editorconfig" };
        while (pending.TryPop(out var project))
        {
            if (!projects.Add(Path.GetFullPath(project)))
            {
                continue;
            }

            var directory = Path.GetDirectoryName(project)!;
            var xml = XDocument.Load(project);
            foreach (var item in xml.Descendants().Where(e => e.Name.LocalName is "ProjectReference" or "Protobuf"))
            {
                var path = Path.GetFullPath(Path.Combine(directory, ((string?)item.Attribute("Include") ?? string.Empty).Replace('\\', '/')));
                if (item.Name.LocalName == "ProjectReference")
                {
                    pending.Push(path);
                }
                else
                {
                    roots.Add(Path.GetRelativePath(Repository.Root, Path.GetFullPath(Path.Combine(directory, (string?)item.Attribute("ProtoRoot") ?? "."))).Replace(Path.DirectorySeparatorChar, '/'));
                }
            }
        }

        return projects.SelectMany(p => Files(Path.GetDirectoryName(p)!))
            .Concat(roots.SelectMany(r => File.Exists(Repository.PathOf(r)) ? [r] : Files(Repository.PathOf(r))))
            .Distinct(StringComparer.Ordinal);
    }

    private static string AssemblyName(string project) =>
        XDocument.Load(project).Descendants().FirstOrDefault(e => e.Name.LocalName == "AssemblyName")?.Value ?? Path.GetFileNameWithoutExtension(project);

    private static string[] ExecForm(string instruction) =>
        JsonSerializer.Deserialize<string[]>(Assert.Single(Instructions, i => i.Stage == 1 && i.Instruction == instruction).Arguments)
        ?? throw new InvalidOperationException($"{instruction} is not in exec form");

    /// <summary>Instructions with their stage (0 for the first FROM's), continuation lines joined, comments left out.</summary>
    private static List<(string Instruction, string Arguments, int Stage)> Parse(string dockerfile)
    {
        var instructions = new List<(string, string, int)>();
        var stage = -1;
        foreach (var line in Continuation().Replace(dockerfile, " ").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            var parts = line.Split(' ', 2, StringSplitOptions.TrimEntries);
            var instruction = parts[0].ToUpperInvariant();
            stage += instruction == "FROM" ? 1 : 0;
            instructions.Add((instruction, Whitespace().Replace(parts.Length > 1 ? parts[1] : string.Empty, " "), stage));
        }

        return instructions;
    }

    [GeneratedRegex(@"\\\r?\n")]
    private static partial Regex Continuation();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"dotnet publish (?<project>[^\s]+) -c Release -o (?<output>/[^\s]+)")]
    private static partial Regex Publish();
}
