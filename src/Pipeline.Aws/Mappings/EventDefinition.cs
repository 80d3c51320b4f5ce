namespace Pipeline.Aws.Mappings;

/// <summary>One entry of <c>Events:</c>, an event source mapping, with the AWS defaults applied.</summary>
public abstract class EventDefinition
{
    private protected EventDefinition(string name, int batchSize, int maximumBatchingWindowInSeconds, bool reportBatchItemFailures, FilterCriteriaDefinition filterCriteria, bool enabled)
    {
        Name = name;
        BatchSize = batchSize;
        MaximumBatchingWindowInSeconds = maximumBatchingWindowInSeconds;
        ReportBatchItemFailures = reportBatchItemFailures;
        FilterCriteria = filterCriteria;
        Enabled = enabled;
    }

    /// <summary>The entry's key under <c>Events:</c> (its logical id in SAM).</summary>
    public string Name { get; }

    /// <summary><c>Type</c>: SQS or Kinesis.</summary>
    public abstract string Type { get; }

    public int BatchSize { get; }

    public int MaximumBatchingWindowInSeconds { get; }

    /// <summary><c>FunctionResponseTypes: [ReportBatchItemFailures]</c>: the function's partial batch response is honoured.</summary>
    public bool ReportBatchItemFailures { get; }

    public FilterCriteriaDefinition FilterCriteria { get; }

    /// <summary><c>Enabled</c> (default true): a disabled mapping is loaded and validated but not polled.</summary>
    public bool Enabled { get; }
}
