using CsCheck;

namespace ExtAuthz.Envoy.Tests.Support;

/// <summary>
/// Generators of HTTP methods and raw paths for the route tables' property tests: valid paths cut,
/// spliced and patched with fragments, fragments alone, and arbitrary strings. Each table gives its
/// own valid paths, fragments and methods.
/// </summary>
internal sealed class RequestLineGen(string[] validPaths, string[] fragments, int maxFragments, string[] methods)
{
    private Gen<string> FragmentText => Gen.OneOf(fragments).Array[0, maxFragments].Select(string.Concat);

    /// <summary>A valid path cut, spliced and patched with fragments.</summary>
    private Gen<string> MutatedPath => Gen.Select(Gen.OneOf(validPaths), Gen.Int[0, 3].Array[1, 4], FragmentText, Gen.Int, (path, edits, text, seed) =>
    {
        var random = new Random(seed);
        foreach (var edit in edits)
        {
            var at = random.Next(path.Length + 1);
            path = edit switch
            {
                0 => path.Insert(at, text),
                1 => path.Remove(at, random.Next(path.Length - at + 1)),
                2 => path[..at] + text + path[Math.Min(path.Length, at + random.Next(4))..],
                _ => path + text,
            };
        }

        return path;
    });

    public Gen<string> AnyPath => Gen.Frequency(
        (4, MutatedPath),
        (2, FragmentText.Select(text => "/" + text)),
        (1, FragmentText),
        (1, Gen.String));

    public Gen<string> AnyMethod => Gen.Frequency((8, Gen.OneOf(methods)), (1, Gen.String));
}
