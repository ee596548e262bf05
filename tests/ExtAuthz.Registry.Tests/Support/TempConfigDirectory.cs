using System.Runtime.InteropServices;
using System.Text;

namespace ExtAuthz.Registry.Tests.Support;

/// <summary>A temporary configuration directory, deleted on dispose. Paths are relative to <see cref="Path"/>.</summary>
public sealed class TempConfigDirectory : IDisposable
{
    public TempConfigDirectory()
    {
        Path = Directory.CreateTempSubdirectory("extauthz-config-").FullName;
    }

    public string Path { get; }

    /// <summary>The absolute path of a file in this directory.</summary>
    public string this[string relativePath] => System.IO.Path.Combine(Path, relativePath);

    /// <summary>Writes a UTF-8 file (no BOM), creating folders; returns its absolute path.</summary>
    public string Write(string relativePath, string text)
    {
        var path = this[relativePath];
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
    }

    /// <summary>A subdirectory, created if needed.</summary>
    public string Subdirectory(string relativePath) => Directory.CreateDirectory(this[relativePath]).FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless.
        }
    }
}

/// <summary>
/// Builds a directory exactly as the kubelet mounts a ConfigMap or Secret volume: the data lives in a
/// timestamped folder <c>..YYYY_MM_DD_hh_mm_ss.N</c>, <c>..data</c> is a symlink to it, and each key is
/// a symlink <c>key -> ..data/key</c> (a key with folders gets a link for its first folder).
/// <see cref="Publish"/> replaces the content the way the kubelet does: a new timestamped folder, a new
/// <c>..data_tmp</c> link renamed over <c>..data</c> (atomic), then stale key links and the old folder removed.
/// </summary>
public sealed class KubernetesVolume
{
    private int version;

    public KubernetesVolume(string path)
    {
        Path = path;
        Directory.CreateDirectory(path);
    }

    public string Path { get; }

    /// <summary>The timestamped folder <c>..data</c> points to now, or null before the first publish.</summary>
    public string? CurrentDataFolder { get; private set; }

    public void Publish(IReadOnlyDictionary<string, string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var folderName = $"..{DateTime.UtcNow:yyyy_MM_dd_HH_mm_ss}.{Interlocked.Increment(ref version)}";
        var folder = System.IO.Path.Combine(Path, folderName);
        foreach (var (key, text) in files)
        {
            var file = System.IO.Path.Combine(folder, key);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(file)!);
            File.WriteAllText(file, text, new UTF8Encoding(false));
        }

        Directory.CreateDirectory(folder);
        var temporary = System.IO.Path.Combine(Path, "..data_tmp");
        File.Delete(temporary);
        File.CreateSymbolicLink(temporary, folderName);
        Rename(temporary, System.IO.Path.Combine(Path, "..data"));

        var visible = files.Keys.Select(k => k.Split('/')[0]).ToHashSet(StringComparer.Ordinal);
        foreach (var entry in Directory.EnumerateFileSystemEntries(Path))
        {
            var name = System.IO.Path.GetFileName(entry);
            if (!name.StartsWith('.') && !visible.Contains(name))
            {
                File.Delete(entry);
            }
        }

        foreach (var name in visible)
        {
            var link = System.IO.Path.Combine(Path, name);
            if (new FileInfo(link).LinkTarget is null)
            {
                File.CreateSymbolicLink(link, $"..data/{name}");
            }
        }

        if (CurrentDataFolder is { } old)
        {
            Directory.Delete(System.IO.Path.Combine(Path, old), recursive: true);
        }

        CurrentDataFolder = folderName;
    }

    /// <summary>rename(2): atomically replaces a symlink (File.Move refuses a link to a directory).</summary>
    private static void Rename(string from, string to)
    {
        if (NativeMethods.rename(from, to) != 0)
        {
            throw new IOException($"rename {from} -> {to} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    private static class NativeMethods
    {
#pragma warning disable SYSLIB1054 // LibraryImport would need AllowUnsafeBlocks in the test project.
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static extern int rename([MarshalAs(UnmanagedType.LPUTF8Str)] string oldpath, [MarshalAs(UnmanagedType.LPUTF8Str)] string newpath);
#pragma warning restore SYSLIB1054
    }
}
