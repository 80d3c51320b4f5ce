using Pipeline.Aws.Kinesis.Client;

namespace Pipeline.Client.Tests.Fakes;

/// <summary>PutRecords answers every entry with ProvisionedThroughputExceeded for the first <c>failures</c> calls, then success.</summary>
internal sealed class ThrottlingKinesisClient(int failures) : IKinesisClient
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public Task<PutRecordsResponse> PutRecordsAsync(PutRecordsRequest request, CancellationToken cancellationToken = default)
    {
        int call = Interlocked.Increment(ref _calls);
        bool fail = call <= failures;
        var results = request.Records.Select((_, i) => fail
            ? new PutRecordsResultEntry { ErrorCode = "ProvisionedThroughputExceededException", ErrorMessage = "slow down" }
            : new PutRecordsResultEntry { SequenceNumber = $"{call}-{i}", ShardId = "shardId-000000000000" }).ToList();
        return Task.FromResult(new PutRecordsResponse { FailedRecordCount = fail ? results.Count : 0, Records = results });
    }

    public Task CreateStreamAsync(CreateStreamRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task DeleteStreamAsync(DeleteStreamRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<DescribeStreamSummaryResponse> DescribeStreamSummaryAsync(DescribeStreamSummaryRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<ListShardsResponse> ListShardsAsync(ListShardsRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<GetShardIteratorResponse> GetShardIteratorAsync(GetShardIteratorRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<GetRecordsResponse> GetRecordsAsync(GetRecordsRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task SplitShardAsync(SplitShardRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task MergeShardsAsync(MergeShardsRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();
}
