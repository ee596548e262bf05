using System.Security.Cryptography;
using System.Text;

namespace ExtAuthz.Registry.Loading;

/// <summary>A file read from a configuration directory.</summary>
internal sealed record ConfigFile(string Path, string Name, byte[] Content)
{
    public string Text => Encoding.UTF8.GetString(Content);

    public string Extension => System.IO.Path.GetExtension(Name).ToLowerInvariant();

    /// <summary>The file name without its folder.</summary>
    public string BaseName => System.IO.Path.GetFileName(Name);
}

/// <summary>
/// Reads every visible file of the configuration directories. A Kubernetes ConfigMap or Secret volume
/// holds each key as a symlink <c>key -> ..data/key</c>, with <c>..data</c> itself a symlink to a
/// timestamped folder that the kubelet swaps atomically; entries starting with '.' are that machinery
/// and are skipped (at every level), and the visible names are read through their links. Plain
/// subdirectories (a local checkout's <c>certs/</c>) are read too.
/// </summary>
internal static class ConfigFiles
{
    public static (IReadOnlyList<ConfigFile> Files, string Fingerprint) Read(IReadOnlyList<string> directories, List<ConfigError> errors)
    {
        var files = new List<ConfigFile>();
        foreach (var directory in directories)
        {
            if (!Directory.Exists(directory))
            {
                errors.Add(new ConfigError(directory, 0, 0, "configuration directory does not exist"));
                continue;
            }

            Collect(directory, directory, files, errors);
        }

        return (files, Fingerprint(files));
    }

    /// <summary>Reads a directory tree; <see cref="ConfigFile.Name"/> is the path relative to the configuration directory.</summary>
    private static void Collect(string root, string directory, List<ConfigFile> files, List<ConfigError> errors)
    {
        string[] entries;
        try
        {
            entries = Directory.EnumerateFileSystemEntries(directory).Order(StringComparer.Ordinal).ToArray();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            errors.Add(new ConfigError(directory, 0, 0, $"cannot list the directory: {ex.Message}"));
            return;
        }

        foreach (var path in entries)
        {
            if (Path.GetFileName(path).StartsWith('.'))
            {
                continue;
            }

            if (Directory.Exists(path))
            {
                Collect(root, path, files, errors);
                continue;
            }

            try
            {
                files.Add(new ConfigFile(path, Path.GetRelativePath(root, path).Replace('\\', '/'), File.ReadAllBytes(path)));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                errors.Add(new ConfigError(path, 0, 0, $"cannot read the file: {ex.Message}"));
            }
        }
    }

    /// <summary>SHA-256 over every file's path and content, in order.</summary>
    public static string Fingerprint(IEnumerable<ConfigFile> files)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in files)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(file.Path));
            hash.AppendData([0]);
            hash.AppendData(BitConverter.GetBytes(file.Content.LongLength));
            hash.AppendData(file.Content);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
