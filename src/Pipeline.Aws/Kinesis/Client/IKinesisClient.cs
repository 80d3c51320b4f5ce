namespace Pipeline.Aws.Kinesis.Client;

/// <summary>
/// The Kinesis Data Streams operations the pipeline uses. It stands in for AWSSDK.Kinesis's IAmazonKinesis, which the
/// package registry here does not serve: the request and response types carry the SDK's names and the service's JSON
/// member names, so moving to the SDK later means one adapter file implementing this interface over AmazonKinesisClient.
/// Errors arrive as <see cref="KinesisServiceException"/> and its typed subclasses; the client never retries.
/// </summary>
public interface IKinesisClient
{
    Task CreateStreamAsync(CreateStreamRequest request, CancellationToken cancellationToken = default);

    Task DeleteStreamAsync(DeleteStreamRequest request, CancellationToken cancellationToken = default);

    Task<DescribeStreamSummaryResponse> DescribeStreamSummaryAsync(DescribeStreamSummaryRequest request, CancellationToken cancellationToken = default);

    /// <summary>One page of shards; follow <see cref="ListShardsResponse.NextToken"/> for the rest.</summary>
    Task<ListShardsResponse> ListShardsAsync(ListShardsRequest request, CancellationToken cancellationToken = default);

    Task<GetShardIteratorResponse> GetShardIteratorAsync(GetShardIteratorRequest request, CancellationToken cancellationToken = default);

    Task<GetRecordsResponse> GetRecordsAsync(GetRecordsRequest request, CancellationToken cancellationToken = default);

    /// <summary>Partial failure is not an exception: check <see cref="PutRecordsResponse.FailedRecordCount"/>.</summary>
    Task<PutRecordsResponse> PutRecordsAsync(PutRecordsRequest request, CancellationToken cancellationToken = default);

    Task SplitShardAsync(SplitShardRequest request, CancellationToken cancellationToken = default);

    Task MergeShardsAsync(MergeShardsRequest request, CancellationToken cancellationToken = default);
}
