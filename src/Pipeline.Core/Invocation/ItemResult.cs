using Pipeline.Core.Records;

namespace Pipeline.Core.Invocation;

/// <summary>What happened to one record of a batch.</summary>
public enum ItemOutcome
{
    /// <summary>The function ran and succeeded: delete / checkpoint past it.</summary>
    Succeeded,

    /// <summary>The job was already completed (duplicate): acknowledge without running.</summary>
    Skipped,

    /// <summary>A retriable failure outlived in-process retries: return to the source with backoff.</summary>
    Retry,

    /// <summary>A permanent failure: return at once; later receives fail fast until the redrive moves it.</summary>
    PermanentFailure,

    /// <summary>Another live owner holds the claim: hide the record until that claim expires.</summary>
    Deferred,

    /// <summary>Never started (shutdown, or an earlier failure in a FIFO batch): return at once.</summary>
    Released,

    /// <summary>Matched no filter of the mapping's FilterCriteria: delete without invoking, as Lambda does.</summary>
    Filtered,
}

/// <summary>Per-item result; failures map onto <c>batchItemFailures</c>.</summary>
public readonly record struct ItemResult(SourceRecord Record, ItemOutcome Outcome, string? Reason = null, TimeSpan Delay = default, string? ResultLocation = null)
{
    /// <summary>True when the record must stay on the source (it is a <c>batchItemFailures</c> entry).</summary>
    public bool IsFailure => Outcome is not (ItemOutcome.Succeeded or ItemOutcome.Skipped or ItemOutcome.Filtered);

    public static ItemResult Success(SourceRecord record, string? location) => new(record, ItemOutcome.Succeeded, ResultLocation: location);

    public static ItemResult Duplicate(SourceRecord record, string? location) => new(record, ItemOutcome.Skipped, "already completed", ResultLocation: location);

    public static ItemResult Retriable(SourceRecord record, string reason, TimeSpan delay) => new(record, ItemOutcome.Retry, reason, delay);

    public static ItemResult Permanent(SourceRecord record, string reason) => new(record, ItemOutcome.PermanentFailure, reason);

    public static ItemResult Defer(SourceRecord record, string reason, TimeSpan delay) => new(record, ItemOutcome.Deferred, reason, delay);

    public static ItemResult Unstarted(SourceRecord record, string reason) => new(record, ItemOutcome.Released, reason);

    public static ItemResult FilteredOut(SourceRecord record) => new(record, ItemOutcome.Filtered, "matched no filter of FilterCriteria");
}
