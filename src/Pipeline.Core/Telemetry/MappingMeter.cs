namespace Pipeline.Core.Telemetry;

/// <summary>
/// Names of the event source mapping metrics, as AWS publishes them for ESMs, on one <see cref="System.Diagnostics.Metrics.Meter"/>.
/// Hook an exporter (OpenTelemetry's <c>AddMeter(MappingMeter.Name)</c>, dotnet-counters) to <see cref="Name"/>; every
/// measurement carries the mapping's name in the <see cref="MappingTag"/> tag.
/// </summary>
public static class MappingMeter
{
    /// <summary>The meter's name.</summary>
    public const string Name = "Pipeline.EventSourceMapping";

    /// <summary>Tag holding the mapping's name (<c>MappingOptions.Name</c>, else the source's name).</summary>
    public const string MappingTag = "mapping";

    /// <summary>Tag holding the shard id on per-shard measurements (IteratorAge).</summary>
    public const string ShardTag = "shard";

    /// <summary>Records read from the source.</summary>
    public const string PolledEventCount = "PolledEventCount";

    /// <summary>Records handed to the function (each call, in-process retries included).</summary>
    public const string InvokedEventCount = "InvokedEventCount";

    /// <summary>Records whose processing failed and that went back to the source (retriable or permanent).</summary>
    public const string FailedInvokeEventCount = "FailedInvokeEventCount";

    /// <summary>Records the source acknowledged as done: deleted (SQS) or checkpointed past (Kinesis).</summary>
    public const string DeletedEventCount = "DeletedEventCount";

    /// <summary>Records that matched no filter of FilterCriteria (deleted without invoking).</summary>
    public const string FilteredOutEventCount = "FilteredOutEventCount";

    /// <summary>Lanes (concurrent batches) the mapping runs now; an observable gauge.</summary>
    public const string Concurrency = "Concurrency";

    // Kinesis only (MaximumRecordAgeInSeconds / MaximumRetryAttempts, on-failure destination). SQS never drops: its
    // redrive policy moves a message to the DLQ, so these are not recorded for SQS.

    /// <summary>Records dropped for age or retry exhaustion (Kinesis).</summary>
    public const string DroppedEventCount = "DroppedEventCount";

    /// <summary>How far behind the tip each shard's last GetRecords was, in milliseconds (Kinesis; tagged with the shard).</summary>
    public const string IteratorAge = "IteratorAge";

    /// <summary>Records sent to the on-failure destination (Kinesis).</summary>
    public const string OnFailureDestinationDeliveredEventCount = "OnFailureDestinationDeliveredEventCount";
}
