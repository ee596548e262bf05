namespace ExtAuthz.Policy;

/// <summary>
/// The policies that apply to one principal, indexed by action. For every action some statement names
/// literally, the statements whose Action/NotAction covers it (wildcards included) are listed up front,
/// so deciding that action never matches an action pattern; other actions fall back to the statements
/// with wildcard actions or NotAction, which are matched per request. Immutable and thread-safe; build it once per principal and configuration snapshot.
/// </summary>
public sealed class PolicySet
{
    private readonly Dictionary<string, Bucket> byAction;
    private readonly Bucket generic;

    private PolicySet(PolicyDocument[] policies)
    {
        Policies = policies;
        var all = policies.SelectMany(p => p.Statements).ToArray();
        var isGeneric = all.Select(s => s.NotAction || s.ActionPatterns.ToArray().Any(a => a.Literal is null)).ToArray();
        generic = Bucket.Build(all.Select((s, i) => isGeneric[i] ? new Entry(s, ActionKnown: false) : (Entry?)null));

        byAction = new Dictionary<string, Bucket>(StringComparer.OrdinalIgnoreCase);
        var literals = all.Where(s => !s.NotAction)
            .SelectMany(s => s.ActionPatterns.ToArray().Select(a => a.Literal))
            .OfType<string>()
            .Distinct(StringComparer.OrdinalIgnoreCase);
        foreach (var action in literals)
        {
            // Every statement's action match is settled here for a known action, wildcards and NotAction included.
            byAction[action] = Bucket.Build(all.Select(s => s.MatchesAction(action) ? new Entry(s, ActionKnown: true) : (Entry?)null));
        }
    }

    public static PolicySet Empty { get; } = new([]);

    public IReadOnlyList<PolicyDocument> Policies { get; }

    public bool IsEmpty => Policies.Count == 0;

    public static PolicySet Create(IEnumerable<PolicyDocument> policies)
    {
        ArgumentNullException.ThrowIfNull(policies);
        return new PolicySet(policies.ToArray());
    }

    public static PolicySet Create(params PolicyDocument[] policies) => Create((IEnumerable<PolicyDocument>)policies);

    internal Bucket For(string action) => byAction.TryGetValue(action, out var bucket) ? bucket : generic;

    /// <summary>A statement that may apply to an action; <see cref="ActionKnown"/> when the index already matched it.</summary>
    internal readonly record struct Entry(Statement Statement, bool ActionKnown)
    {
        public bool Applies(in AuthorizationRequest request) =>
            (ActionKnown || Statement.MatchesAction(request.Action)) && Statement.AppliesTo(request);
    }

    /// <summary>Candidate statements for one action, Deny and Allow apart, each in document order.</summary>
    internal sealed class Bucket(Entry[] denies, Entry[] allows)
    {
        public Entry[] Denies { get; } = denies;

        public Entry[] Allows { get; } = allows;

        public static Bucket Build(IEnumerable<Entry?> entries)
        {
            var present = entries.OfType<Entry>().ToArray();
            return new Bucket(
                present.Where(e => e.Statement.Effect == Effect.Deny).ToArray(),
                present.Where(e => e.Statement.Effect == Effect.Allow).ToArray());
        }
    }
}
