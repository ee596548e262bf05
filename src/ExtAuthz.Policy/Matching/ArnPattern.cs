namespace ExtAuthz.Policy.Matching;

/// <summary>
/// A request ARN split once on its first five colons: partition, service, region, account and the
/// resource, which keeps any further colons (a Cognito identity ID is <c>region:uuid</c>).
/// </summary>
internal readonly struct ArnView
{
    private readonly int c1, c2, c3, c4, c5;

    public ArnView(string value)
    {
        Value = value;
        c1 = c2 = c3 = c4 = c5 = -1;
        if (!value.StartsWith("arn:", StringComparison.Ordinal))
        {
            return;
        }

        c1 = 3;
        c2 = value.IndexOf(':', c1 + 1);
        c3 = c2 < 0 ? -1 : value.IndexOf(':', c2 + 1);
        c4 = c3 < 0 ? -1 : value.IndexOf(':', c3 + 1);
        c5 = c4 < 0 ? -1 : value.IndexOf(':', c4 + 1);
    }

    public string Value { get; }

    /// <summary>True when the value has all six components.</summary>
    public bool IsArn => c5 >= 0;

    /// <summary><c>arn:partition:service:region:account:</c>, up to and including the fifth colon.</summary>
    public ReadOnlySpan<char> Prefix => Value.AsSpan(0, c5 + 1);

    public ReadOnlySpan<char> Resource => Value.AsSpan(c5 + 1);

    /// <summary>Component 1 to 4 (partition, service, region, account); 0 is the literal "arn".</summary>
    public ReadOnlySpan<char> Component(int index) => index switch
    {
        0 => Value.AsSpan(0, c1),
        1 => Value.AsSpan(c1 + 1, c2 - c1 - 1),
        2 => Value.AsSpan(c2 + 1, c3 - c2 - 1),
        3 => Value.AsSpan(c3 + 1, c4 - c3 - 1),
        4 => Value.AsSpan(c4 + 1, c5 - c4 - 1),
        _ => Resource,
    };
}

/// <summary>
/// A Resource/NotResource entry or an ArnLike/ArnEquals value. An ARN pattern is matched component by
/// component (wildcards never cross the first five colons; variables only in the resource part, as
/// IAM specifies); anything else (notably <c>*</c>) is matched as one wildcard string.
/// </summary>
internal sealed class ArnPattern
{
    private readonly Template? whole;
    private readonly string? constantPrefix;
    private readonly Template[]? components;
    private readonly Template? resource;

    private ArnPattern(string source, Template whole)
    {
        Source = source;
        this.whole = whole;
        Variables = whole.Variables.ToArray();
    }

    private ArnPattern(string source, Template[] components, Template resource)
    {
        Source = source;
        this.resource = resource;
        Variables = resource.Variables.ToArray();
        if (components.All(c => c.Constant is not null))
        {
            constantPrefix = string.Join(':', components.Select(c => c.Constant)) + ":";
        }
        else
        {
            this.components = components;
        }
    }

    public string Source { get; }

    /// <summary>True when the pattern has all six ARN components.</summary>
    public bool IsArn => resource is not null;

    public bool IsMatchAll => whole is { IsMatchAll: true };

    public Part[] Variables { get; }

    /// <summary>True when some component uses <c>*</c> or <c>?</c>.</summary>
    public bool HasWildcards => whole?.HasWildcards ?? (resource!.HasWildcards || components is not null && components.Any(c => c.HasWildcards));

    public static ArnPattern Parse(string text, bool variables)
    {
        var view = new ArnView(text);
        if (!view.IsArn)
        {
            return new ArnPattern(text, Template.Parse(text, variables, wildcards: true));
        }

        var components = new Template[5];
        for (var i = 0; i < 5; i++)
        {
            components[i] = Template.Parse(view.Component(i).ToString(), variables: false, wildcards: true);
        }

        return new ArnPattern(text, components, Template.Parse(view.Resource.ToString(), variables, wildcards: true));
    }

    public MatchOutcome Match(in ArnView request, IRequestContext context, bool detectUnresolved)
    {
        if (whole is not null)
        {
            return whole.Match(request.Value, context, ignoreCase: false, detectUnresolved);
        }

        if (!request.IsArn)
        {
            return detectUnresolved && Unresolved(context) ? MatchOutcome.Unresolved : MatchOutcome.NoMatch;
        }

        if (constantPrefix is not null)
        {
            if (!request.Prefix.SequenceEqual(constantPrefix))
            {
                return detectUnresolved && Unresolved(context) ? MatchOutcome.Unresolved : MatchOutcome.NoMatch;
            }
        }
        else
        {
            for (var i = 0; i < components!.Length; i++)
            {
                if (components[i].Match(request.Component(i), context, ignoreCase: false, detectUnresolved: false) != MatchOutcome.Match)
                {
                    return detectUnresolved && Unresolved(context) ? MatchOutcome.Unresolved : MatchOutcome.NoMatch;
                }
            }
        }

        return resource!.Match(request.Resource, context, ignoreCase: false, detectUnresolved);
    }

    private bool Unresolved(IRequestContext context)
    {
        foreach (var variable in Variables)
        {
            if (Template.Resolve(variable, context) is null)
            {
                return true;
            }
        }

        return false;
    }
}
