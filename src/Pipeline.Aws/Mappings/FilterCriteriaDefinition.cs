namespace Pipeline.Aws.Mappings;

/// <summary>
/// <c>FilterCriteria: { Filters: [ { Pattern: '...' } ] }</c>. The patterns are kept as written (each checked to be
/// a JSON object); the filter engine in Pipeline.Core interprets them.
/// </summary>
public sealed class FilterCriteriaDefinition
{
    /// <summary>AWS's default quota of filters per event source mapping.</summary>
    public const int MaxFilters = 5;

    /// <summary>AWS's limit on one pattern's length.</summary>
    public const int MaxPatternLength = 4096;

    internal FilterCriteriaDefinition(IReadOnlyList<string> patterns) => Patterns = patterns;

    public static FilterCriteriaDefinition None { get; } = new([]);

    /// <summary>The raw JSON patterns; a record matching any of them is processed, the rest are dropped (deleted for SQS).</summary>
    public IReadOnlyList<string> Patterns { get; }

    public bool IsEmpty => Patterns.Count == 0;
}
