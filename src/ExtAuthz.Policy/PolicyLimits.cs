namespace ExtAuthz.Policy;

/// <summary>
/// Bounds that protect the parser and evaluator from abusive documents. They are far above anything
/// AWS accepts (an AWS IoT policy is at most 2,048 characters); AWS's own limits are reported by lint.
/// </summary>
public sealed record PolicyLimits
{
    public static PolicyLimits Default { get; } = new();

    /// <summary>Largest accepted document, in characters.</summary>
    public int MaxDocumentLength { get; init; } = 256 * 1024;

    /// <summary>Deepest JSON nesting accepted (a policy needs 5).</summary>
    public int MaxDepth { get; init; } = 16;

    /// <summary>Most statements in one document.</summary>
    public int MaxStatements { get; init; } = 1000;

    /// <summary>Most values in one Action, Resource or condition-key array.</summary>
    public int MaxValuesPerElement { get; init; } = 1000;

    /// <summary>Most condition keys across all operators of one statement.</summary>
    public int MaxConditionKeys { get; init; } = 256;
}
