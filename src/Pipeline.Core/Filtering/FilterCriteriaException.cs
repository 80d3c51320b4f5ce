namespace Pipeline.Core.Filtering;

/// <summary>
/// A <c>FilterCriteria</c> that cannot be loaded: too many filters, a pattern that is not JSON, or a rule that is
/// not part of the grammar. The message names the filter (<c>Filters[i]</c>) and the field path that is wrong.
/// </summary>
public sealed class FilterCriteriaException : Exception
{
    public FilterCriteriaException()
    {
    }

    public FilterCriteriaException(string message)
        : base(message)
    {
    }

    public FilterCriteriaException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal FilterCriteriaException(int filterIndex, string problem, Exception? innerException = null)
        : base($"FilterCriteria.Filters[{filterIndex}].Pattern: {problem}", innerException)
    {
        FilterIndex = filterIndex;
    }

    /// <summary>Index of the offending filter in <c>Filters</c>, or -1 when the problem is the list itself.</summary>
    public int FilterIndex { get; } = -1;
}
