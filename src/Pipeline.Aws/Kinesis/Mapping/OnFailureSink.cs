using Pipeline.Aws.Kinesis.OnFailure;
using Pipeline.Core.Sources.Streams;

namespace Pipeline.Aws.Kinesis.Mapping;

/// <summary>Describes a discarded batch as AWS's invocation record and sends it to the on-failure destination.</summary>
internal sealed class OnFailureSink(IOnFailureDestination destination, string streamArn, string functionName, TimeProvider time) : IDiscardedBatchSink
{
    public async ValueTask DeliverAsync(DiscardedBatch batch, CancellationToken cancellationToken)
    {
        // A partial batch response is a 200 without a function error; a failure of the whole batch is an unhandled error.
        var response = new KinesisFailureResponseContext(
            200,
            KinesisFailureResponseContext.LatestVersion,
            batch.PartialFailure ? null : KinesisFailureResponseContext.Unhandled);
        KinesisFailureRecord record = KinesisFailureRecord.Create(
            streamArn, batch.ShardId, batch.Records, batch.Condition, batch.InvokeCount, functionName, response, Guid.NewGuid(), time);
        await destination.SendAsync(record, cancellationToken).ConfigureAwait(false);
    }
}
