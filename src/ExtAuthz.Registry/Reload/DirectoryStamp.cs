using System.Security.Cryptography;
using System.Text;

namespace ExtAuthz.Registry;

/// <summary>
/// A cheap summary of the configuration directories, taken without reading any file: for each
/// directory, where its Kubernetes <c>..data</c> link points, and for every visible file (read through
/// its links, as <see cref="Loading.ConfigFiles"/> reads it) its path, size and modification time.
/// Two equal stamps mean the loader would almost certainly read the same input; <see cref="Racy"/> says
/// some file changed so recently that a same-size edit within the file system's time resolution could
/// hide behind an equal stamp (git's "racy clean" problem), so a load is due anyway.
/// </summary>
internal sealed record DirectoryStamp(string Hash, bool Racy)
{
    /// <summary>Files modified this recently (or in the future) make a stamp racy.</summary>
    private static readonly TimeSpan RacyWindow = TimeSpan.FromSeconds(2);

    public static DirectoryStamp Take(IReadOnlyList<string> directories)
    {
        var racyAfter = DateTime.UtcNow - RacyWindow;
        var racy = false;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Append(string text)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(text));
            hash.AppendData([0]);
        }

        foreach (var directory in directories)
        {
            Append("dir:" + directory);
            try
            {
                if (!Directory.Exists(directory))
                {
                    Append("missing");
                    continue;
                }

                // The kubelet's atomic swap: every update points ..data at a new timestamped folder.
                var data = new FileInfo(Path.Combine(directory, "..data"));
                Append("..data->" + (data.LinkTarget ?? (data.Exists || Directory.Exists(data.FullName) ? "(not a link)" : "(none)")));

                // Behind a ..data link, files are written once into a new folder and never edited in
                // place, so a recent time is no reason to look again: the link's target changes instead.
                var editedInPlace = data.LinkTarget is null;
                var racyHere = false;
                Walk(directory, directory, Append, racyAfter, ref racyHere);
                racy |= racyHere && editedInPlace;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Something moved under us: record it and look again soon.
                Append("error:" + ex.GetType().Name + ":" + ex.Message);
                racy = true;
            }
        }

        return new DirectoryStamp(Convert.ToHexStringLower(hash.GetHashAndReset()), racy);
    }

    private static void Walk(string root, string directory, Action<string> append, DateTime racyAfter, ref bool racy)
    {
        foreach (var path in Directory.EnumerateFileSystemEntries(directory).Order(StringComparer.Ordinal))
        {
            if (Path.GetFileName(path).StartsWith('.'))
            {
                continue;
            }

            var relative = Path.GetRelativePath(root, path);
            if (Directory.Exists(path))
            {
                append("d:" + relative);
                Walk(root, path, append, racyAfter, ref racy);
                continue;
            }

            FileSystemInfo info = new FileInfo(path);
            if (info.LinkTarget is { } target)
            {
                append("l:" + relative + "->" + target);
                info = info.ResolveLinkTarget(returnFinalTarget: true) ?? info;
            }

            if (!info.Exists)
            {
                // A dangling link (a swap in progress, or a broken mount): the stamp says so, and differs once it is fixed.
                append("f:" + relative + ":dangling");
                continue;
            }

            var written = info.LastWriteTimeUtc;
            var length = info is FileInfo file ? file.Length : -1;
            append($"f:{relative}:{length}:{written.Ticks}:{info.FullName}");
            racy |= written >= racyAfter;
        }
    }
}
