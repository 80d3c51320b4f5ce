namespace Pipeline.Aws.Sqs;

/// <summary>Limits of the SQS API that our callers must respect.</summary>
public static class SqsLimits
{
    /// <summary>Entries per batch call (SendMessageBatch, DeleteMessageBatch, ChangeMessageVisibilityBatch) and messages per receive.</summary>
    public const int MaxBatchEntries = 10;

    /// <summary>Longest long poll.</summary>
    public const int MaxWaitTimeSeconds = 20;

    /// <summary>Longest visibility timeout (12 h).</summary>
    public static readonly TimeSpan MaxVisibilityTimeout = TimeSpan.FromHours(12);

    /// <summary>The classic limit on one SendMessageBatch request's summed message sizes (256 KiB).</summary>
    public const int ClassicMaxRequestBytes = 256 * 1024;

    /// <summary>Smallest MaximumMessageSize a queue may have.</summary>
    public const int MinMaximumMessageSize = 1024;

    /// <summary>System attribute holding a FIFO message's group.</summary>
    public const string MessageGroupId = "MessageGroupId";

    public const string ApproximateReceiveCount = "ApproximateReceiveCount";

    public const string SentTimestamp = "SentTimestamp";
}
