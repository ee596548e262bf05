using System.Reflection;

namespace ExtAuthz.K8s.Tests.Support;

/// <summary>The repository under test, as the build recorded it (see the csproj).</summary>
internal static class Repository
{
    public static string Root { get; } =
        typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "RepositoryRoot")?.Value is { Length: > 0 } root && Directory.Exists(root)
            ? root
            : throw new InvalidOperationException("the repository root was not recorded at build time (see ExtAuthz.K8s.Tests.csproj)");

    /// <summary>A path inside the repository, written with '/' as in the documentation.</summary>
    public static string PathOf(string relative) => Path.Combine(Root, relative.Replace('/', Path.DirectorySeparatorChar));

    public static string ReadText(string relative) => File.ReadAllText(PathOf(relative));
}
