using System.Globalization;
using System.Text;
using CsCheck;
using Xunit.Abstractions;

namespace ExtAuthz.Policy.Tests.Properties;

/// <summary>
/// Shared pieces of the property tests: the small alphabet, a plain reference wildcard matcher, a
/// cursor over generated random choices, and a <see cref="Run{T}"/> that fixes iteration counts.
/// </summary>
/// <remarks>
/// Seeds: each run draws a fresh seed (so CI keeps exploring). When a property fails, CsCheck shrinks
/// the input and its exception message prints the seed; rerun with the environment variable
/// <c>CsCheck_Seed=&lt;seed&gt;</c> (or pass it as <c>seed:</c>) to reproduce the exact run.
/// </remarks>
internal static class PropertyKit
{
    public const string Smile = "\U0001F600";    // 😀, a surrogate pair with no case
    public const string DeseretUpper = "\U00010400"; // 𐐀, a surrogate pair whose lower case is 𐐨
    public const string DeseretLower = "\U00010428"; // 𐐨

    /// <summary>The matcher alphabet: wildcards, MQTT wildcards, separators, a letter pair, and non-BMP characters.</summary>
    public static readonly string[] Alphabet = ["a", "A", "b", "*", "?", "/", "+", "#", ":", "$", Smile, DeseretUpper, DeseretLower];

    /// <summary>The alphabet without <c>*</c> and <c>?</c>: text with no wildcards.</summary>
    public static readonly string[] LiteralAlphabet = [.. Alphabet.Where(s => s is not "*" and not "?")];

    /// <summary>A string of <paramref name="min"/> to <paramref name="max"/> symbols from <paramref name="alphabet"/>.</summary>
    public static Gen<string> Text(string[] alphabet, int min, int max) =>
        Gen.OneOf(alphabet).Array[min, max].Select(string.Concat);

    /// <summary>Random choices, consumed in order by <see cref="Choices"/>; shrinks towards zeros.</summary>
    public static Gen<int[]> ChoiceList(int min = 0, int max = 40) => Gen.Int[0, 1_000_000].Array[min, max];

    /// <summary>Splits text into characters, a surrogate pair counting as one (a lone surrogate is one too).</summary>
    public static List<string> Scalars(string text)
    {
        var list = new List<string>(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var pair = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
            list.Add(text.Substring(i, pair ? 2 : 1));
            if (pair)
            {
                i++;
            }
        }

        return list;
    }

    /// <summary>
    /// The text between « », with each character outside printable ASCII written as \u{XXXX} (braces, so
    /// that a raw lone surrogate \u{D800} is told apart from the six ASCII characters of a JSON escape \uD800).
    /// </summary>
    public static string Show(string? text, int max = 4000)
    {
        if (text is null)
        {
            return "null";
        }

        var sb = new StringBuilder(Math.Min(text.Length, max) + 2).Append('«');
        foreach (var c in text.Length > max ? text[..max] : text)
        {
            if (c is >= ' ' and <= '~')
            {
                sb.Append(c);
            }
            else
            {
                sb.Append("\\u{").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture)).Append('}');
            }
        }

        sb.Append('»');
        if (text.Length > max)
        {
            sb.Append(CultureInfo.InvariantCulture, $"… ({text.Length} chars)");
        }

        return sb.ToString();
    }

    /// <summary>Runs a property for a fixed number of iterations and logs CsCheck's summary line.</summary>
    public static void Run<T>(Gen<T> gen, Action<T> property, long iter, ITestOutputHelper output, Func<T, string>? print = null) =>
        gen.Sample(property, writeLine: output.WriteLine, iter: iter, print: print);

    /// <summary>The reference matcher: tokens of a policy string.</summary>
    public enum TokenKind
    {
        Literal,
        AnyRun,
        AnyOne,
    }

    public readonly record struct Token(TokenKind Kind, string Text);

    /// <summary>Tokens of a policy string in which <c>*</c> and <c>?</c> are wildcards and everything else is literal.</summary>
    public static List<Token> WildcardTokens(string pattern) =>
        [.. Scalars(pattern).Select(s => s switch
        {
            "*" => new Token(TokenKind.AnyRun, s),
            "?" => new Token(TokenKind.AnyOne, s),
            _ => new Token(TokenKind.Literal, s),
        })];

    /// <summary>Tokens that match <paramref name="text"/> literally, character by character.</summary>
    public static List<Token> LiteralTokens(string text) => [.. Scalars(text).Select(s => new Token(TokenKind.Literal, s))];

    /// <summary>
    /// The obviously-correct matcher: a memoized recursion over characters (a surrogate pair is one).
    /// <c>*</c> matches any run, <c>?</c> exactly one character, a literal token one equal character.
    /// </summary>
    public static bool ReferenceMatch(IReadOnlyList<Token> pattern, string input, bool ignoreCase)
    {
        var s = Scalars(input);
        var comparison = ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        var memo = new bool?[pattern.Count + 1, s.Count + 1];

        bool M(int i, int j)
        {
            if (memo[i, j] is { } known)
            {
                return known;
            }

            bool result;
            if (i == pattern.Count)
            {
                result = j == s.Count;
            }
            else
            {
                result = pattern[i].Kind switch
                {
                    TokenKind.AnyRun => M(i + 1, j) || (j < s.Count && M(i, j + 1)),
                    TokenKind.AnyOne => j < s.Count && M(i + 1, j + 1),
                    _ => j < s.Count && string.Equals(pattern[i].Text, s[j], comparison) && M(i + 1, j + 1),
                };
            }

            memo[i, j] = result;
            return result;
        }

        return M(0, 0);
    }

    public static bool ReferenceMatch(string pattern, string input, bool ignoreCase) => ReferenceMatch(WildcardTokens(pattern), input, ignoreCase);

    /// <summary>The case partner of a symbol of the alphabet, or the symbol itself.</summary>
    public static string OtherCase(string symbol) => symbol switch
    {
        "a" => "A",
        "A" => "a",
        DeseretUpper => DeseretLower,
        DeseretLower => DeseretUpper,
        _ => symbol,
    };

    /// <summary>
    /// A string the tokens match (each <c>*</c> expanded to 0–3 random symbols, each <c>?</c> to one,
    /// literals possibly in the other case), then 0–2 random edits so that near misses appear too.
    /// </summary>
    public static string Instance(IReadOnlyList<Token> tokens, Choices choices, string[] alphabet, bool flipCase)
    {
        var sb = new StringBuilder();
        foreach (var token in tokens)
        {
            switch (token.Kind)
            {
                case TokenKind.AnyRun:
                    for (var n = choices.Next(4); n > 0; n--)
                    {
                        sb.Append(choices.Pick(alphabet));
                    }

                    break;
                case TokenKind.AnyOne:
                    sb.Append(choices.Pick(alphabet));
                    break;
                default:
                    sb.Append(flipCase && choices.Next(2) == 1 ? OtherCase(token.Text) : token.Text);
                    break;
            }
        }

        var symbols = Scalars(sb.ToString());
        for (var edits = choices.Next(6) switch { 0 or 1 => 1, 2 => 2, _ => 0 }; edits > 0; edits--)
        {
            var at = choices.Next(symbols.Count + 1);
            switch (choices.Next(3))
            {
                case 0:
                    symbols.Insert(at, choices.Pick(alphabet));
                    break;
                case 1 when at < symbols.Count:
                    symbols.RemoveAt(at);
                    break;
                case 2 when at < symbols.Count:
                    symbols[at] = choices.Pick(alphabet);
                    break;
            }
        }

        return string.Concat(symbols);
    }
}

/// <summary>A cursor over generated integers used as a stream of random choices (zeros once exhausted).</summary>
internal sealed class Choices(int[] values)
{
    private int next;

    /// <summary>A choice in [0, <paramref name="count"/>).</summary>
    public int Next(int count) => count <= 1 ? 0 : next < values.Length ? values[next++] % count : 0;

    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];
}
