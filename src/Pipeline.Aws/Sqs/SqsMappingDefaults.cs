using Pipeline.Core.Batching;
using Pipeline.Core.Hosting;
using Pipeline.Core.Invocation;
using Pipeline.Core.Lanes;

namespace Pipeline.Aws.Sqs;

/// <summary>
/// The mapping settings an SQS queue needs, so a host does not have to remember them:
/// <list type="bullet">
/// <item>FIFO (<c>.fifo</c>): lanes keyed by MessageGroupId (<see cref="LaneKeySource.PartitionKey"/>), stop at the
/// first failure and give back it and every later message of the batch (<see cref="InvokerOptions.StopOnFirstFailure"/>),
/// BatchSize at most 10 and no batching window. SQS itself keeps a group locked while any of its messages is in flight,
/// so a failed message holds back the rest of its group until it is retried: order per group survives failures.</item>
/// <item>Standard: lanes keyed by the job's idempotency key, so duplicates of a job never run at once.</item>
/// <item>Both: each poll asks for 10 messages per lane (up to 100), so <see cref="SqsRecordSource"/> keeps that many
/// ReceiveMessage calls outstanding side by side instead of one at a time.</item>
/// </list>
/// </summary>
public static class SqsMappingDefaults
{
    /// <summary>Mapping options for a queue that is (or is not) FIFO.</summary>
    /// <param name="queueIsFifo">Whether the queue is FIFO (<see cref="SqsQueueInfo.IsFifo"/>).</param>
    /// <param name="batchSize">BatchSize: 1–10,000 standard (default 10), 1–10 FIFO.</param>
    /// <param name="maximumBatchingWindowInSeconds">0–300 (default 0); at least 1 when BatchSize is over 10; 0 for FIFO.</param>
    /// <param name="concurrency">Lanes (ScalingConfig.MaximumConcurrency), 1–1,000 (default 5).</param>
    /// <param name="invoker">Invoker settings; StopOnFirstFailure is forced on for FIFO and left as given otherwise.</param>
    public static MappingOptions For(bool queueIsFifo, int batchSize = 10, int maximumBatchingWindowInSeconds = 0, int concurrency = 5, InvokerOptions? invoker = null)
    {
        InvokerOptions baseInvoker = invoker ?? InvokerOptions.Default;
        int perPoll = SqsLimits.MaxBatchEntries * Math.Clamp(concurrency, 1, 10);
        return new MappingOptions
        {
            Batching = BatchingOptions.ForSqs(batchSize, maximumBatchingWindowInSeconds, queueIsFifo),
            Concurrency = concurrency,
            LaneKey = queueIsFifo ? LaneKeySource.PartitionKey : LaneKeySource.JobKey,
            Invoker = queueIsFifo ? baseInvoker with { StopOnFirstFailure = true } : baseInvoker,
            MaxRecordsPerPoll = perPoll,
            PollBufferCapacity = Math.Max(100, perPoll),
        }.Validate();
    }

    /// <summary>Mapping options for the queue behind <paramref name="source"/>.</summary>
    public static MappingOptions For(SqsRecordSource source, int batchSize = 10, int maximumBatchingWindowInSeconds = 0, int concurrency = 5, InvokerOptions? invoker = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        return For(source.Queue.IsFifo, batchSize, maximumBatchingWindowInSeconds, concurrency, invoker);
    }
}
