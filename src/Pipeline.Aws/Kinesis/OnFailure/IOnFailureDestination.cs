namespace Pipeline.Aws.Kinesis.OnFailure;

/// <summary>
/// Where a discarded Kinesis batch's record goes. <see cref="SendAsync"/> returns only once the record is delivered;
/// when it throws, the caller must not move the checkpoint past the batch, or the batch would be lost without trace.
/// </summary>
public interface IOnFailureDestination
{
    Task SendAsync(KinesisFailureRecord record, CancellationToken cancellationToken);
}
