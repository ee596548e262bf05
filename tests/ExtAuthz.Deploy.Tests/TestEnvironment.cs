using System.Reflection;

namespace ExtAuthz.Deploy.Tests;

/// <summary>What the build recorded about this machine (see the csproj).</summary>
internal static class TestEnvironment
{
    /// <summary>The repository whose envoy/, examples/ and k8s/ are checked.</summary>
    public static string RepositoryRoot =>
        Metadata("RepositoryRoot") is { Length: > 0 } root && Directory.Exists(root)
            ? root
            : throw new InvalidOperationException("the repository root was not recorded at build time (see ExtAuthz.Deploy.Tests.csproj)");

    public static string? Metadata(string key) =>
        typeof(TestEnvironment).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;
}
