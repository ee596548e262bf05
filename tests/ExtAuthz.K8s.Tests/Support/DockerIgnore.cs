using System.Text;
using System.Text.RegularExpressions;

namespace ExtAuthz.K8s.Tests.Support;

/// <summary>
/// A .dockerignore, applied as Docker applies it: patterns are paths relative to the context (a leading
/// or trailing '/' does not matter) with '*' and '?' within one path element and '**' across any number;
/// a pattern that matches a directory matches everything in it; '!' re-includes; the last pattern that
/// matches a path decides.
/// </summary>
internal sealed class DockerIgnore
{
    private readonly List<(Regex Pattern, bool Include)> rules = [];

    public DockerIgnore(string text)
    {
        foreach (var raw in text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            var include = raw.StartsWith('!');
            var pattern = (include ? raw[1..] : raw).Trim().Trim('/');
            rules.Add((new Regex(ToRegex(pattern), RegexOptions.CultureInvariant), include));
        }
    }

    /// <summary>Whether the file at this context-relative path (with '/') is left out of the build context.</summary>
    public bool Excludes(string path)
    {
        var excluded = false;
        foreach (var (pattern, include) in rules)
        {
            if (SelfAndParents(path).Any(pattern.IsMatch))
            {
                excluded = !include;
            }
        }

        return excluded;
    }

    private static IEnumerable<string> SelfAndParents(string path)
    {
        for (var end = path.Length; end > 0; end = path.LastIndexOf('/', end - 1))
        {
            yield return path[..end];
        }
    }

    private static string ToRegex(string pattern)
    {
        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                // '**/' is any number of leading elements, none included; a final '**' is anything.
                var slash = i + 2 < pattern.Length && pattern[i + 2] == '/';
                regex.Append(slash ? "(.*/)?" : ".*");
                i += slash ? 2 : 1;
            }
            else
            {
                regex.Append(pattern[i] switch
                {
                    '*' => "[^/]*",
                    '?' => "[^/]",
                    _ => Regex.Escape(pattern[i].ToString()),
                });
            }
        }

        return regex.Append('$').ToString();
    }
}
