using ExtAuthz.Policy.Conditions;
using ExtAuthz.Policy.Matching;

namespace ExtAuthz.Policy;

public enum Effect : byte
{
    Allow,
    Deny,
}

/// <summary>A compiled, immutable policy document. Safe to share between threads.</summary>
public sealed class PolicyDocument
{
    internal PolicyDocument(string name, string? version, string? id, Statement[] statements, string text)
    {
        Name = name;
        Version = version;
        Id = id;
        Statements = statements;
        Text = text;
        foreach (var statement in statements)
        {
            statement.Policy = this;
        }
    }

    public string Name { get; }

    /// <summary><c>2012-10-17</c>, <c>2008-10-17</c>, or null when the document has none.</summary>
    public string? Version { get; }

    /// <summary>True when policy variables are substituted (Version 2012-10-17 only).</summary>
    public bool VariablesEnabled => Version == PolicyParser.CurrentVersion;

    public string? Id { get; }

    public IReadOnlyList<Statement> Statements { get; }

    /// <summary>The document as it was given.</summary>
    public string Text { get; }

    /// <summary>Parses and compiles a document; see <see cref="PolicyParser.Parse"/>.</summary>
    public static PolicyDocument Parse(string name, string json, PolicyLimits? limits = null) => PolicyParser.Parse(name, json, limits);

    public override string ToString() => Name;
}

/// <summary>A compiled statement. Its matchers are built once; evaluating it allocates nothing.</summary>
public sealed class Statement
{
    private readonly ActionPattern[] actions;
    private readonly ArnPattern[] resources;
    private readonly Condition[] conditions;

    internal Statement(int index, string? sid, Effect effect, ActionPattern[] actions, bool notAction, ArnPattern[] resources, bool notResource, Condition[] conditions)
    {
        Index = index;
        Sid = sid;
        Label = sid ?? "#" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Effect = effect;
        this.actions = actions;
        NotAction = notAction;
        this.resources = resources;
        NotResource = notResource;
        this.conditions = conditions;
        ReferencedKeys = resources.SelectMany(r => r.Variables).Where(v => v.Default is null).Select(v => v.Text)
            .Concat(conditions.SelectMany(c => c.ReferencedKeys()))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToArray();
    }

    /// <summary>The policy the statement belongs to (set when the policy is built).</summary>
    public PolicyDocument Policy { get; internal set; } = null!;

    /// <summary>0-based position in the policy's Statement list.</summary>
    public int Index { get; }

    public string? Sid { get; }

    /// <summary>How answers and logs name the statement: its Sid, or its position (<c>#2</c>) when it has none.</summary>
    public string Label { get; }

    public Effect Effect { get; }

    public bool NotAction { get; }

    public bool NotResource { get; }

    public IEnumerable<string> Actions => actions.Select(a => a.Source);

    public IEnumerable<string> Resources => resources.Select(r => r.Source);

    public bool HasConditions => conditions.Length > 0;

    /// <summary>Context keys the statement reads that have no default, for missing-value reports.</summary>
    public IReadOnlyList<string> ReferencedKeys { get; }

    internal ReadOnlySpan<ActionPattern> ActionPatterns => actions;

    internal ReadOnlySpan<ArnPattern> ResourcePatterns => resources;

    internal ReadOnlySpan<Condition> Conditions => conditions;

    /// <summary>True when the Action (or NotAction) element covers <paramref name="action"/>.</summary>
    public bool MatchesAction(string action)
    {
        foreach (var pattern in actions)
        {
            if (pattern.Matches(action))
            {
                return !NotAction;
            }
        }

        return NotAction;
    }

    /// <summary>Resource and Condition elements; the action is assumed to match.</summary>
    internal bool AppliesTo(in AuthorizationRequest request)
    {
        var deny = Effect == Effect.Deny;
        if (!MatchesResource(request, deny))
        {
            return false;
        }

        foreach (var condition in conditions)
        {
            if (!condition.Holds(request.Context, deny))
            {
                return false;
            }
        }

        return true;
    }

    public override string ToString() => Sid is null ? $"{Policy}#{Index}" : $"{Policy}#{Index} ({Sid})";

    private bool MatchesResource(in AuthorizationRequest request, bool deny)
    {
        if (!NotResource)
        {
            foreach (var pattern in resources)
            {
                if (pattern.Match(request.Arn, request.Context, detectUnresolved: false) == MatchOutcome.Match)
                {
                    return true;
                }
            }

            return false;
        }

        // NotResource: an unresolved variable fails closed (an Allow does not apply, a Deny does).
        var excluded = false;
        foreach (var pattern in resources)
        {
            switch (pattern.Match(request.Arn, request.Context, detectUnresolved: true))
            {
                case MatchOutcome.Unresolved:
                    return deny;
                case MatchOutcome.Match:
                    excluded = true;
                    break;
            }
        }

        return !excluded;
    }
}

/// <summary>An Action/NotAction entry: case-insensitive, with <c>*</c> and <c>?</c>.</summary>
internal sealed class ActionPattern
{
    private readonly Template? glob;

    public ActionPattern(string source)
    {
        Source = source;
        if (source.Contains('*', StringComparison.Ordinal) || source.Contains('?', StringComparison.Ordinal))
        {
            glob = Template.Parse(source, variables: false, wildcards: true);
        }
    }

    public string Source { get; }

    /// <summary>The action name when the pattern has no wildcard.</summary>
    public string? Literal => glob is null ? Source : null;

    public bool Matches(string action) => glob is null
        ? string.Equals(action, Source, StringComparison.OrdinalIgnoreCase)
        : glob.Match(action, RequestContext.Empty, ignoreCase: true, detectUnresolved: false) == MatchOutcome.Match;
}
