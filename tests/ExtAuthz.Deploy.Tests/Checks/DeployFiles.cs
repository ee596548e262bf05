namespace ExtAuthz.Deploy.Tests.Checks;

/// <summary>
/// The Envoy configurations the repository ships: every YAML file in envoy/, and every envoy.yaml or
/// *.envoy.yaml under examples/ and k8s/ (where copies of the sidecar's bootstrap go, e.g. for a ConfigMap).
/// </summary>
internal static class DeployFiles
{
    public static string Sidecar => Path.Combine(TestEnvironment.RepositoryRoot, "envoy", "envoy.yaml");

    public static IReadOnlyList<string> All()
    {
        var root = TestEnvironment.RepositoryRoot;
        var envoy = Path.Combine(root, "envoy");
        IEnumerable<string> files = Directory.Exists(envoy)
            ? Directory.EnumerateFiles(envoy, "*.yaml", SearchOption.AllDirectories).Concat(Directory.EnumerateFiles(envoy, "*.yml", SearchOption.AllDirectories))
            : [];
        foreach (var folder in new[] { "examples", "k8s" }.Select(f => Path.Combine(root, f)).Where(Directory.Exists))
        {
            files = files.Concat(Directory.EnumerateFiles(folder, "*.yaml", SearchOption.AllDirectories)
                .Where(f => Path.GetFileName(f) is var name && (name == "envoy.yaml" || name.EndsWith(".envoy.yaml", StringComparison.Ordinal))));
        }

        return [.. files.Select(f => Path.GetRelativePath(root, f).Replace('\\', '/')).Order(StringComparer.Ordinal)];
    }
}
