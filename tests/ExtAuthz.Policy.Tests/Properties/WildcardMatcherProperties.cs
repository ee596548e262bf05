using System.Text;
using CsCheck;
using ExtAuthz.Policy.Matching;
using Xunit.Abstractions;
using static ExtAuthz.Policy.Tests.Properties.PropertyKit;

namespace ExtAuthz.Policy.Tests.Properties;

/// <summary>
/// The compiled wildcard matcher (<see cref="Template"/>) against a plain reference matcher, and the
/// substitution of policy variables as literal text.
/// </summary>
public sealed class WildcardMatcherProperties(ITestOutputHelper output)
{
    private const long MatcherIterations = 30_000;
    private const long SmallIterations = 10_000;

    /// <summary>A pattern over the alphabet, and an input that is either random or derived from the pattern (so matches are common).</summary>
    private static readonly Gen<(string Pattern, string Input, bool IgnoreCase)> PatternAndInput =
        Gen.Select(Text(Alphabet, 0, 8), Text(Alphabet, 0, 10), ChoiceList(), Gen.Int[0, 3], Gen.Bool, (pattern, random, choices, mode, ignoreCase) =>
            (pattern, mode == 0 ? random : Instance(WildcardTokens(pattern), new Choices(choices), Alphabet, ignoreCase), ignoreCase));

    private static string Print((string Pattern, string Input, bool IgnoreCase) c) =>
        $"pattern {Show(c.Pattern)} input {Show(c.Input)} ignoreCase {c.IgnoreCase}";

    private static bool EngineMatch(string pattern, string input, bool ignoreCase) =>
        Template.Parse(pattern, variables: false, wildcards: true).Match(input, RequestContext.Empty, ignoreCase, detectUnresolved: false) == MatchOutcome.Match;

    /// <summary>The reference matcher itself, on cases worked by hand.</summary>
    [Theory]
    [InlineData("a*b", "a/+:#b", false, true)]
    [InlineData("a?b", "a" + Smile + "b", false, true)]
    [InlineData("a??b", "a" + Smile + "b", false, false)]
    [InlineData("*?", "", false, false)]
    [InlineData("**", "", false, true)]
    [InlineData("a", "A", false, false)]
    [InlineData("a", "A", true, true)]
    [InlineData(DeseretUpper, DeseretLower, true, true)]
    [InlineData(DeseretUpper, DeseretLower, false, false)]
    [InlineData("+/#", "a/b", false, false)]
    [InlineData("a*", "a*", false, true)]
    [InlineData("a", "?", false, false)]
    public void Reference_matcher_sanity(string pattern, string input, bool ignoreCase, bool expected) =>
        Assert.Equal(expected, ReferenceMatch(pattern, input, ignoreCase));

    [Fact]
    public void Compiled_matcher_agrees_with_the_reference_matcher()
    {
        var matches = 0L;
        Run(PatternAndInput, c =>
        {
            var expected = ReferenceMatch(c.Pattern, c.Input, c.IgnoreCase);
            if (expected)
            {
                Interlocked.Increment(ref matches);
            }

            Assert.Equal(expected, EngineMatch(c.Pattern, c.Input, c.IgnoreCase));
        }, MatcherIterations, output, Print);
        output.WriteLine($"{matches} of the inputs matched");
    }

    [Fact]
    public void A_pattern_without_wildcards_matches_exactly_itself() =>
        Run(Gen.Select(Text(LiteralAlphabet, 0, 8), ChoiceList(), Gen.Bool, (pattern, choices, ignoreCase) =>
            (pattern, Instance(LiteralTokens(pattern), new Choices(choices), LiteralAlphabet, ignoreCase), ignoreCase)), c =>
        {
            Assert.True(EngineMatch(c.Item1, c.Item1, c.Item3));
            var comparison = c.Item3 ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
            Assert.Equal(string.Equals(c.Item1, c.Item2, comparison), EngineMatch(c.Item1, c.Item2, c.Item3));
        }, SmallIterations, output, c => Print(c));

    [Fact]
    public void A_star_matches_everything_and_star_text_star_means_contains() =>
        Run(Gen.Select(Gen.Int[1, 3], Text(LiteralAlphabet, 0, 3), Text(Alphabet, 0, 12), Gen.Bool), c =>
        {
            var (stars, infix, input, ignoreCase) = c;
            Assert.True(EngineMatch(new string('*', stars), input, ignoreCase));
            var comparison = ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
            Assert.Equal(input.Contains(infix, comparison), EngineMatch("*" + infix + "*", input, ignoreCase));
            Assert.Equal(input.StartsWith(infix, comparison), EngineMatch(infix + "*", input, ignoreCase));
            Assert.Equal(input.EndsWith(infix, comparison), EngineMatch("*" + infix, input, ignoreCase));
        }, SmallIterations, output);

    /// <summary>
    /// Characters in the request are literal: renaming the request's <c>*</c> and <c>?</c> to characters
    /// that appear nowhere in the pattern (private-use U+E000 and U+E001) never changes the outcome.
    /// </summary>
    [Fact]
    public void Wildcard_characters_in_the_input_are_literal() =>
        Run(PatternAndInput, c =>
        {
            var renamed = c.Input.Replace('*', '\uE000').Replace('?', '\uE001');
            Assert.Equal(EngineMatch(c.Pattern, renamed, c.IgnoreCase), EngineMatch(c.Pattern, c.Input, c.IgnoreCase));

            // And a request made only of wildcard characters is matched by the same pattern text only when
            // the pattern's wildcards could produce it: '?' matches one '*', but a literal never does.
            Assert.Equal(ReferenceMatch(c.Pattern, "*", c.IgnoreCase), EngineMatch(c.Pattern, "*", c.IgnoreCase));
        }, SmallIterations, output, Print);

    // ---- Policy variables ------------------------------------------------------------------------

    private static readonly string[] PresentKeys = ["k", "K", "iot:ClientId", "iot:clientid", "IOT:CLIENTID"];

    /// <summary>Values for the context: wildcards, '$', braces, '${…}' text and non-BMP characters, all to be taken literally.</summary>
    private static readonly string[] ValueAlphabet = ["a", "A", "*", "?", "$", "{", "}", "${k}", "/", "+", "#", Smile, DeseretUpper];

    private static readonly string[] DefaultAlphabet = ["a", "b", "/", "+", "#", Smile];

    /// <summary>One piece of a template: literal policy text (whose <c>*</c>/<c>?</c> are wildcards) or a variable.</summary>
    internal readonly record struct Segment(string? Literal, string? Key, string? Default)
    {
        public override string ToString() => Literal is not null ? Show(Literal)
            : Default is null ? $"${{{Key}}}" : $"${{{Key}, '{Show(Default)}'}}";
    }

    internal sealed record VariableCase(Segment[] Segments, string KValue, string ClientIdValue, string Input, bool IgnoreCase)
    {
        public string Template => string.Concat(Segments.Select(s => s.Literal ?? (s.Default is null ? $"${{{s.Key}}}" : $"${{{s.Key}, '{s.Default}'}}")));

        public RequestContext Context => new RequestContext().Set("k", KValue).Set("iot:ClientId", ClientIdValue);

        public override string ToString() =>
            $"template {Show(Template)} k={Show(KValue)} iot:ClientId={Show(ClientIdValue)} input {Show(Input)} ignoreCase {IgnoreCase}";

        /// <summary>The value a variable stands for in <see cref="Context"/>, or null when its key is absent and it has no default.</summary>
        public string? ValueOf(Segment segment) => segment.Key!.ToUpperInvariant() switch
        {
            "K" => KValue,
            "IOT:CLIENTID" => ClientIdValue,
            _ => segment.Default,
        };

        /// <summary>Reference tokens: literal segments with their wildcards, variables replaced by their value character by character.</summary>
        public List<PropertyKit.Token> ExpectedTokens() =>
            [.. Segments.SelectMany(s => s.Literal is not null ? WildcardTokens(s.Literal) : LiteralTokens(ValueOf(s)!))];

        /// <summary>The template with each value substituted and escaped (<c>${*}</c>, <c>${?}</c>, <c>${$}</c>); the literal parts keep their wildcards.</summary>
        public string EscapedSubstitution()
        {
            var sb = new StringBuilder();
            foreach (var segment in Segments)
            {
                if (segment.Literal is not null)
                {
                    // A literal '$' is written as ${$} too, so that a substituted '{' after it cannot form '${'.
                    sb.Append(segment.Literal.Replace("$", "${$}", StringComparison.Ordinal));
                    continue;
                }

                foreach (var c in ValueOf(segment)!)
                {
                    _ = c is '*' or '?' or '$' ? sb.Append("${").Append(c).Append('}') : sb.Append(c);
                }
            }

            return sb.ToString();
        }
    }

    private static readonly Gen<Segment> SegmentGen = Gen.Frequency(
        (3, Text(Alphabet, 1, 3).Select(text => new Segment(text, null, null))),
        (3, Gen.OneOf(PresentKeys).Select(key => new Segment(null, key, null))),
        (1, Gen.Select(Gen.OneOf([.. PresentKeys, "missing", "Missing"]), Text(DefaultAlphabet, 0, 3), (key, dflt) => new Segment(null, key, dflt))));

    private static readonly Gen<VariableCase> VariableCases =
        Gen.Select(SegmentGen.Array[1, 5], Text(ValueAlphabet, 0, 4), Text(ValueAlphabet, 0, 4), Text(Alphabet, 0, 10), ChoiceList(), Gen.Int[0, 3], Gen.Bool,
            (segments, kValue, clientId, random, choices, mode, ignoreCase) =>
            {
                var c = new VariableCase(segments, kValue, clientId, "", ignoreCase);
                var input = mode == 0 ? random : Instance(c.ExpectedTokens(), new Choices(choices), [.. Alphabet, "{", "}"], ignoreCase);
                return c with { Input = input };
            });

    /// <summary>
    /// <c>${k}</c> matches X exactly when the template with k's value substituted literally matches X; values
    /// containing <c>*</c>, <c>?</c>, <c>$</c> and <c>${…}</c> are never wildcards or variables.
    /// </summary>
    [Fact]
    public void A_variable_matches_as_its_value_taken_literally() =>
        Run(VariableCases, c =>
        {
            var template = Template.Parse(c.Template, variables: true, wildcards: true);
            var actual = template.Match(c.Input, c.Context, c.IgnoreCase, detectUnresolved: false) == MatchOutcome.Match;
            Assert.Equal(ReferenceMatch(c.ExpectedTokens(), c.Input, c.IgnoreCase), actual);

            var escaped = Template.Parse(c.EscapedSubstitution(), variables: true, wildcards: true);
            Assert.False(escaped.HasVariables);
            Assert.Equal(escaped.Match(c.Input, RequestContext.Empty, c.IgnoreCase, detectUnresolved: false) == MatchOutcome.Match, actual);
        }, SmallIterations, output, c => c.ToString());

    /// <summary>A variable whose key is absent (and has no default) never matches; with detection it is reported as unresolved.</summary>
    [Fact]
    public void An_unresolved_variable_never_matches() =>
        Run(Gen.Select(Text(Alphabet, 0, 3), Text(Alphabet, 0, 3), Text(Alphabet, 0, 8), Gen.Bool), c =>
        {
            var (before, after, input, ignoreCase) = c;
            var template = Template.Parse(before + "${iot:ClientId}" + after, variables: true, wildcards: true);
            var context = new RequestContext().Set("k", "v").Set("iot:ClientId", ["a", "b"]); // multi-valued: not substitutable
            Assert.NotEqual(MatchOutcome.Match, template.Match(input, RequestContext.Empty, ignoreCase, detectUnresolved: false));
            Assert.NotEqual(MatchOutcome.Match, template.Match(input, context, ignoreCase, detectUnresolved: false));
            Assert.Equal(MatchOutcome.Unresolved, template.Match(input, RequestContext.Empty, ignoreCase, detectUnresolved: true));
            Assert.Equal(MatchOutcome.Unresolved, template.Match(input, context, ignoreCase, detectUnresolved: true));
        }, SmallIterations, output, c => $"{Show(c.Item1)} ${{iot:ClientId}} {Show(c.Item2)} input {Show(c.Item3)}");
}
