namespace Pipeline.Core.Batching;

/// <summary>
/// How a lane cuts batches, with the ESM's property names, defaults and ranges (ESM-SEMANTICS.md). Build it with
/// <see cref="ForSqs"/> or <see cref="ForKinesis"/>, which validate against the rules of that source.
/// </summary>
public sealed record BatchingOptions
{
    /// <summary>Lambda's synchronous invocation payload limit: a batch stops before it.</summary>
    public const long SixMegabytes = 6L * 1024 * 1024;

    private BatchingOptions(int batchSize, int windowSeconds, long maxPayloadBytes)
    {
        BatchSize = batchSize;
        MaximumBatchingWindowInSeconds = windowSeconds;
        MaxPayloadBytes = maxPayloadBytes;
    }

    /// <summary>Most records in one batch.</summary>
    public int BatchSize { get; }

    /// <summary>How long a lane waits to fill a batch after its first record; 0 cuts with what is available.</summary>
    public int MaximumBatchingWindowInSeconds { get; }

    public TimeSpan MaximumBatchingWindow => TimeSpan.FromSeconds(MaximumBatchingWindowInSeconds);

    /// <summary>Payload cap of one batch (6 MB); a record that alone exceeds it fails permanently.</summary>
    public long MaxPayloadBytes { get; }

    /// <summary>
    /// SQS: BatchSize 1–10,000 (default 10) for standard queues and 1–10 for FIFO; MaximumBatchingWindowInSeconds
    /// 0–300 (default 0), at least 1 when BatchSize is over 10, and not allowed for FIFO.
    /// </summary>
    public static BatchingOptions ForSqs(int batchSize = 10, int maximumBatchingWindowInSeconds = 0, bool fifo = false, long maxPayloadBytes = SixMegabytes)
    {
        int maxBatch = fifo ? 10 : 10_000;
        if (batchSize < 1 || batchSize > maxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(BatchSize), batchSize,
                $"BatchSize must be between 1 and {maxBatch:N0} for {(fifo ? "a FIFO" : "a standard")} SQS queue (got {batchSize}).");
        }

        CheckWindow(maximumBatchingWindowInSeconds);
        if (fifo && maximumBatchingWindowInSeconds != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaximumBatchingWindowInSeconds), maximumBatchingWindowInSeconds,
                "MaximumBatchingWindowInSeconds is not supported for FIFO queues (must be 0).");
        }

        if (batchSize > 10 && maximumBatchingWindowInSeconds < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaximumBatchingWindowInSeconds), maximumBatchingWindowInSeconds,
                $"MaximumBatchingWindowInSeconds must be at least 1 when BatchSize is over 10 (BatchSize {batchSize}).");
        }

        return new BatchingOptions(batchSize, maximumBatchingWindowInSeconds, CheckPayload(maxPayloadBytes));
    }

    /// <summary>Kinesis: BatchSize 1–10,000 (default 100); MaximumBatchingWindowInSeconds 0–300 (default 0).</summary>
    public static BatchingOptions ForKinesis(int batchSize = 100, int maximumBatchingWindowInSeconds = 0, long maxPayloadBytes = SixMegabytes)
    {
        if (batchSize < 1 || batchSize > 10_000)
        {
            throw new ArgumentOutOfRangeException(nameof(BatchSize), batchSize, $"BatchSize must be between 1 and 10,000 for a Kinesis stream (got {batchSize}).");
        }

        CheckWindow(maximumBatchingWindowInSeconds);
        return new BatchingOptions(batchSize, maximumBatchingWindowInSeconds, CheckPayload(maxPayloadBytes));
    }

    private static void CheckWindow(int seconds)
    {
        if (seconds < 0 || seconds > 300)
        {
            throw new ArgumentOutOfRangeException(nameof(MaximumBatchingWindowInSeconds), seconds,
                $"MaximumBatchingWindowInSeconds must be between 0 and 300 (got {seconds}).");
        }
    }

    private static long CheckPayload(long bytes)
    {
        if (bytes < 1024 || bytes > SixMegabytes)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxPayloadBytes), bytes,
                $"MaxPayloadBytes must be between 1,024 and {SixMegabytes:N0} (got {bytes:N0}).");
        }

        return bytes;
    }
}
