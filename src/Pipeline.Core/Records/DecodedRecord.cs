namespace Pipeline.Core.Records;

/// <summary>
/// A record after decoding: either a <see cref="Job"/> or the reason it is not one. A record that decodes to nothing
/// valid still travels through the lanes so the invoker can fail it permanently and the source can account for it.
/// </summary>
public sealed class DecodedRecord
{
    private DecodedRecord(SourceRecord record, Job? job, string? error, string laneKey)
    {
        Record = record;
        Job = job;
        Error = error;
        LaneKey = laneKey;
    }

    public SourceRecord Record { get; }

    public Job? Job { get; }

    /// <summary>Why the body is not a valid job; null when <see cref="Job"/> is set.</summary>
    public string? Error { get; }

    /// <summary>The key a lane is chosen by (partition key, MessageGroupId or job key).</summary>
    public string LaneKey { get; }

    public static DecodedRecord Valid(SourceRecord record, Job job, string laneKey) => new(record, job, null, laneKey);

    public static DecodedRecord Invalid(SourceRecord record, string error, string laneKey) => new(record, null, error, laneKey);
}
