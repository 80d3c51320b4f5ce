namespace Pipeline.Core.Lanes;

/// <summary>Which key picks a record's lane.</summary>
public enum LaneKeySource
{
    /// <summary>The record's partition key: Kinesis partition key, or the MessageGroupId of an SQS FIFO queue.</summary>
    PartitionKey,

    /// <summary>The job's key (standard SQS), so duplicates of a job never run at once.</summary>
    JobKey,
}
