using CsCheck;
using ExtAuthz.Policy.Matching;
using Xunit.Abstractions;
using static ExtAuthz.Policy.Tests.Properties.PropertyKit;

namespace ExtAuthz.Policy.Tests.Properties;

/// <summary>
/// ARN patterns match component by component: the first five colons split partition, service, region
/// and account, wildcards never cross them, and the resource part keeps any further colons.
/// </summary>
public sealed class ArnPatternProperties(ITestOutputHelper output)
{
    private const long Iterations = 20_000;

    private static readonly string[] ComponentAlphabet = ["a", "b", "1", "-", "*", "?"];
    private static readonly string[] RequestComponentAlphabet = ["a", "b", "1", "-", "*", "?", ":"];
    private static readonly string[] ResourceAlphabet = ["a", "b", "*", "?", ":", "/", "+", "#", "$", Smile];

    /// <summary>
    /// The reference: split on the first five colons (the sixth part keeps the rest); a pattern that is
    /// not an ARN (e.g. <c>*</c>) is one wildcard string over the whole request.
    /// </summary>
    private static bool ReferenceArnMatch(string pattern, string request)
    {
        var p = Split(pattern);
        if (p is null)
        {
            return ReferenceMatch(pattern, request, ignoreCase: false);
        }

        var r = Split(request);
        if (r is null)
        {
            return false;
        }

        for (var i = 0; i < 6; i++)
        {
            if (!ReferenceMatch(p[i], r[i], ignoreCase: false))
            {
                return false;
            }
        }

        return true;
    }

    private static string[]? Split(string arn)
    {
        if (!arn.StartsWith("arn:", StringComparison.Ordinal))
        {
            return null;
        }

        var parts = arn.Split(':', 6);
        return parts.Length == 6 ? parts : null;
    }

    private static bool EngineMatch(string pattern, string request) =>
        ArnPattern.Parse(pattern, variables: false).Match(new ArnView(request), RequestContext.Empty, detectUnresolved: false) == MatchOutcome.Match;

    private static readonly Gen<string> Component = Text(ComponentAlphabet, 0, 3);

    private static readonly Gen<string> PatternGen = Gen.Frequency(
        (12, Gen.Select(Component, Component, Component, Component, Text(ResourceAlphabet, 0, 6), (a, b, c, d, r) => $"arn:{a}:{b}:{c}:{d}:{r}")),
        (1, Gen.Const("*")),
        (1, Text(ResourceAlphabet, 0, 6)));

    /// <summary>
    /// A request: random, or an instance of the pattern (wildcards filled in with symbols that may include
    /// colons, so that a wildcard crossing a colon would be caught), or the pattern's text itself.
    /// </summary>
    private static readonly Gen<(string Pattern, string Request)> Cases =
        Gen.Select(PatternGen, Text(RequestComponentAlphabet, 0, 12), ChoiceList(), Gen.Int[0, 5], (pattern, random, choices, mode) =>
            (pattern, mode switch
            {
                0 => "arn:" + random,
                1 => random,
                2 => pattern,
                _ => Instance(WildcardTokens(pattern), new Choices(choices), RequestComponentAlphabet, flipCase: false),
            }));

    [Fact]
    public void Arn_patterns_match_component_by_component() =>
        Run(Cases, c => Assert.Equal(ReferenceArnMatch(c.Pattern, c.Request), EngineMatch(c.Pattern, c.Request)),
            Iterations, output, c => $"pattern {Show(c.Pattern)} request {Show(c.Request)}");

    /// <summary>
    /// Wildcards never cross the first five colons: a request with a colon added inside one of its first
    /// five components is matched by an ARN pattern exactly as the reference's split says, and a pattern
    /// whose first five components are <c>*</c> still needs the request to have exactly those components
    /// before its resource; the resource part may contain colons and <c>*</c> there crosses them.
    /// </summary>
    [Fact]
    public void Wildcards_never_cross_the_first_five_colons() =>
        Run(Gen.Select(Text(ComponentAlphabet.Where(s => s is not "*" and not "?").ToArray(), 0, 2).Array[4], Text(ResourceAlphabet, 0, 5), Gen.Int[1, 4]), c =>
        {
            var (components, resource, extraAt) = c;
            var request = $"arn:{string.Join(':', components)}:{resource}";
            Assert.True(EngineMatch("arn:*:*:*:*:*", request));
            Assert.True(EngineMatch($"arn:{string.Join(':', components)}:*", request));

            // Insert a colon into component extraAt: the request's resource now starts with the old account.
            var shifted = (string[])components.Clone();
            shifted[extraAt - 1] += ":x";
            var shiftedRequest = $"arn:{string.Join(':', shifted)}:{resource}";
            Assert.Equal(ReferenceArnMatch(request, shiftedRequest), EngineMatch(request, shiftedRequest));
            Assert.True(EngineMatch("arn:*:*:*:*:*", shiftedRequest)); // the extra colon lands in the resource

            // A literal pattern with the original components never matches the shifted request ('*' in the
            // account position may not swallow "account:x"), except through the resource part.
            var pattern = $"arn:{string.Join(':', components)}:*";
            Assert.Equal(ReferenceArnMatch(pattern, shiftedRequest), EngineMatch(pattern, shiftedRequest));
            if (extraAt < 4)
            {
                var starred = (string[])components.Clone();
                starred[extraAt - 1] = "*";
                var starPattern = $"arn:{string.Join(':', starred)}:{resource}";
                Assert.Equal(ReferenceArnMatch(starPattern, shiftedRequest), EngineMatch(starPattern, shiftedRequest));
            }

            // Colons inside the resource: '*' and '?' in the resource part cross them.
            Assert.True(EngineMatch($"arn:{string.Join(':', components)}:*", request + ":us-east-1:abc"));
            Assert.True(EngineMatch($"arn:{string.Join(':', components)}:{resource}?*", request + ":1:2"));
        }, Iterations / 4, output, c => $"components [{string.Join(", ", c.Item1.Select(s => Show(s)))}] resource {Show(c.Item2)} colon added in component {c.Item3}");
}
