using System.Text;

namespace ExtAuthz.Policy.Matching;

internal enum PartKind : byte
{
    /// <summary>Text that must appear as is.</summary>
    Literal,

    /// <summary><c>*</c>: any run of characters, including none and including '/' and ':'.</summary>
    AnyRun,

    /// <summary><c>?</c>: exactly one character (a surrogate pair counts as one).</summary>
    AnyOne,

    /// <summary><c>${key}</c> or <c>${key, 'default'}</c>: the key's single value, matched literally.</summary>
    Variable,
}

internal readonly record struct Part(PartKind Kind, string Text, string? Default = null);

/// <summary>The outcome of matching a template: a variable with no value is its own outcome, since
/// negated operators and NotResource must fail closed on it.</summary>
internal enum MatchOutcome : byte
{
    NoMatch,
    Match,
    Unresolved,
}

/// <summary>A syntax error inside a policy string; the compiler adds the policy, path and position.</summary>
internal sealed class TemplateSyntaxException(string reason) : Exception(reason);

/// <summary>
/// A policy string compiled once into literal runs, wildcards and variables. Matching walks the parts
/// against the request text with the classic last-star backtracking algorithm; variables are looked
/// up in the request context and compared as literal text, so nothing is allocated per match.
/// </summary>
internal sealed class Template
{
    private readonly Part[] parts;

    private Template(string source, Part[] parts)
    {
        Source = source;
        this.parts = parts;
        foreach (var part in parts)
        {
            HasVariables |= part.Kind == PartKind.Variable;
            HasWildcards |= part.Kind is PartKind.AnyRun or PartKind.AnyOne;
        }

        IsMatchAll = parts is [{ Kind: PartKind.AnyRun }];
        if (!HasVariables && !HasWildcards)
        {
            Constant = parts.Length == 0 ? "" : string.Concat(parts.Select(p => p.Text));
        }
    }

    /// <summary>The policy text the template was compiled from.</summary>
    public string Source { get; }

    public bool HasVariables { get; }

    public bool HasWildcards { get; }

    /// <summary>True for a lone <c>*</c>.</summary>
    public bool IsMatchAll { get; }

    /// <summary>The whole text when the template has neither variables nor wildcards.</summary>
    public string? Constant { get; }

    public ReadOnlySpan<Part> Parts => parts;

    /// <summary>Variable keys in order of appearance (with duplicates), for missing-value reports.</summary>
    public IEnumerable<Part> Variables => parts.Where(p => p.Kind == PartKind.Variable);

    /// <summary>
    /// Compiles <paramref name="text"/>. <paramref name="variables"/> enables <c>${…}</c> (policy Version
    /// 2012-10-17 only); <paramref name="wildcards"/> makes <c>*</c> and <c>?</c> wildcards.
    /// </summary>
    public static Template Parse(string text, bool variables, bool wildcards)
    {
        var parts = new List<Part>();
        var literal = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (variables && c == '$' && i + 1 < text.Length && text[i + 1] == '{')
            {
                i = ParseVariable(text, i, out var part);
                if (part.Kind == PartKind.Literal)
                {
                    literal.Append(part.Text);
                    continue;
                }

                Flush(parts, literal);
                parts.Add(part);
            }
            else if (wildcards && c == '*')
            {
                Flush(parts, literal);
                if (parts.Count == 0 || parts[^1].Kind != PartKind.AnyRun)
                {
                    parts.Add(new Part(PartKind.AnyRun, "*"));
                }
            }
            else if (wildcards && c == '?')
            {
                Flush(parts, literal);
                parts.Add(new Part(PartKind.AnyOne, "?"));
            }
            else
            {
                literal.Append(c);
            }
        }

        Flush(parts, literal);
        return new Template(text, [.. parts]);
    }

    /// <summary>A template that matches exactly <paramref name="text"/>, wildcards and all taken literally.</summary>
    public static Template Literal(string text) => new(text, text.Length == 0 ? [] : [new Part(PartKind.Literal, text)]);

    /// <summary>
    /// Matches the whole of <paramref name="input"/>. With <paramref name="detectUnresolved"/> every
    /// variable is resolved first so that a missing one is reported as <see cref="MatchOutcome.Unresolved"/>
    /// even where the text would have mismatched earlier; without it, missing simply means no match.
    /// </summary>
    public MatchOutcome Match(ReadOnlySpan<char> input, IRequestContext context, bool ignoreCase, bool detectUnresolved)
    {
        if (IsMatchAll)
        {
            return MatchOutcome.Match;
        }

        if (detectUnresolved && HasVariables)
        {
            foreach (var part in parts)
            {
                if (part.Kind == PartKind.Variable && Resolve(part, context) is null)
                {
                    return MatchOutcome.Unresolved;
                }
            }
        }

        var p = 0;
        var s = 0;
        var starPart = -1;
        var starText = 0;
        while (true)
        {
            if (p < parts.Length)
            {
                var part = parts[p];
                switch (part.Kind)
                {
                    case PartKind.AnyRun:
                        starPart = p++;
                        starText = s;
                        continue;
                    case PartKind.AnyOne:
                        if (s < input.Length)
                        {
                            s += char.IsHighSurrogate(input[s]) && s + 1 < input.Length && char.IsLowSurrogate(input[s + 1]) ? 2 : 1;
                            p++;
                            continue;
                        }

                        break;
                    default:
                        var text = part.Kind == PartKind.Literal ? part.Text : Resolve(part, context);
                        if (text is null)
                        {
                            return MatchOutcome.Unresolved;
                        }

                        if (ignoreCase ? input[s..].StartsWith(text, StringComparison.OrdinalIgnoreCase) : input[s..].StartsWith(text))
                        {
                            s += text.Length;
                            p++;
                            continue;
                        }

                        break;
                }
            }
            else if (s == input.Length)
            {
                return MatchOutcome.Match;
            }

            // Mismatch: let the last '*' swallow one more character and retry from just after it.
            if (starPart < 0 || starText >= input.Length)
            {
                return MatchOutcome.NoMatch;
            }

            starText++;
            s = starText;
            p = starPart + 1;
        }
    }

    /// <summary>The text a variable stands for, or null when the key is absent or multi-valued and has no default.</summary>
    public static string? Resolve(in Part part, IRequestContext context) =>
        context.TryGetValue(part.Text, out var value) && value.Single is { } single ? single : part.Default;

    private static void Flush(List<Part> parts, StringBuilder literal)
    {
        if (literal.Length > 0)
        {
            parts.Add(new Part(PartKind.Literal, literal.ToString()));
            literal.Clear();
        }
    }

    /// <summary>Parses the variable starting at <paramref name="start"/> (<c>${</c>); returns the index of its closing brace.</summary>
    private static int ParseVariable(string text, int start, out Part part)
    {
        var i = start + 2;
        var keyStart = i;
        while (i < text.Length && text[i] != '}' && text[i] != ',')
        {
            i++;
        }

        if (i >= text.Length)
        {
            throw new TemplateSyntaxException($"unterminated policy variable: '${{' without a closing '}}'");
        }

        var key = text[keyStart..i].Trim();
        string? fallback = null;
        if (text[i] == ',')
        {
            i++;
            while (i < text.Length && text[i] == ' ')
            {
                i++;
            }

            if (i >= text.Length || text[i] != '\'')
            {
                throw new TemplateSyntaxException($"policy variable '${{{key}, …}}': the default value must be in single quotes, as in ${{{key}, 'value'}}");
            }

            var close = text.IndexOf('\'', i + 1);
            if (close < 0)
            {
                throw new TemplateSyntaxException($"policy variable '${{{key}, …}}': the default value's closing quote is missing");
            }

            fallback = text[(i + 1)..close];
            i = close + 1;
            while (i < text.Length && text[i] == ' ')
            {
                i++;
            }

            if (i >= text.Length || text[i] != '}')
            {
                throw new TemplateSyntaxException($"policy variable '${{{key}, '{fallback}'}}': expected '}}' after the default value");
            }
        }

        if (key.Length == 0)
        {
            throw new TemplateSyntaxException($"empty policy variable name: ${{}}");
        }

        part = fallback is null && key is "*" or "?" or "$"
            ? new Part(PartKind.Literal, key)
            : new Part(PartKind.Variable, key, fallback);
        return i;
    }
}
