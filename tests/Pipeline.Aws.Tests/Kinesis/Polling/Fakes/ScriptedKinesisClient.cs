using System.Globalization;
using System.Text;
using Pipeline.Aws.Kinesis.Client;
using Record = Pipeline.Aws.Kinesis.Client.Record;

namespace Pipeline.Aws.Tests.Kinesis.Polling.Fakes;

/// <summary>
/// One scripted shard behind IKinesisClient's read calls. Iterators are "it:{index}" positions into
/// <see cref="Records"/>; <see cref="Fault"/> can make any GetRecords call (1-based) throw instead. MillisBehindLatest
/// is 5,000 while records remain after the batch returned (or what <see cref="Behind"/> says), else 0.
/// </summary>
public sealed class ScriptedKinesisClient(TimeProvider time) : IKinesisClient
{
    private readonly Lock _gate = new();

    public List<Record> Records { get; } = [];

    /// <summary>When set, the shard is closed: the call that reads its last record answers no next iterator.</summary>
    public IReadOnlyList<string>? ClosedWithChildren { get; set; }

    /// <summary>Given the GetRecords call number (1-based), an exception to throw instead of answering.</summary>
    public Func<int, Exception?> Fault { get; set; } = _ => null;

    /// <summary>Given the records left after the batch, the MillisBehindLatest to answer.</summary>
    public Func<int, long> Behind { get; set; } = left => left > 0 ? 5_000 : 0;

    /// <summary>Answer SHARD_END without ChildShards, as kinesalite 3.3.3 does.</summary>
    public bool OmitChildShards { get; set; }

    public string ShardId { get; set; } = "shardId-000000000000";

    public List<DateTimeOffset> CallTimes { get; } = [];

    public List<GetShardIteratorRequest> IteratorRequests { get; } = [];

    public int Calls
    {
        get
        {
            lock (_gate)
            {
                return CallTimes.Count;
            }
        }
    }

    public static string Sequence(int index) => (1_000_000 + index).ToString(CultureInfo.InvariantCulture);

    public void Add(int count)
    {
        lock (_gate)
        {
            for (var i = 0; i < count; i++)
            {
                var index = Records.Count;
                Records.Add(new Record
                {
                    SequenceNumber = Sequence(index),
                    PartitionKey = "pk-" + (index % 7).ToString(CultureInfo.InvariantCulture),
                    Data = Encoding.UTF8.GetBytes("record-" + index.ToString(CultureInfo.InvariantCulture)),
                    ApproximateArrivalTimestamp = time.GetUtcNow(),
                });
            }
        }
    }

    public Task<GetShardIteratorResponse> GetShardIteratorAsync(GetShardIteratorRequest request, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            IteratorRequests.Add(request);
            var position = request.ShardIteratorType switch
            {
                ShardIteratorType.TrimHorizon => 0,
                ShardIteratorType.Latest => Records.Count,
                ShardIteratorType.AfterSequenceNumber => Records.FindIndex(r => r.SequenceNumber == request.StartingSequenceNumber) + 1,
                ShardIteratorType.AtSequenceNumber => Records.FindIndex(r => r.SequenceNumber == request.StartingSequenceNumber),
                ShardIteratorType.AtTimestamp => IndexAtOrAfter(request.Timestamp!.Value),
                _ => throw new KinesisInvalidArgumentException($"unknown iterator type {request.ShardIteratorType}"),
            };
            if (position < 0)
            {
                throw new KinesisInvalidArgumentException($"sequence number {request.StartingSequenceNumber} is not in the shard");
            }

            return Task.FromResult(new GetShardIteratorResponse { ShardIterator = Iterator(position) });
        }
    }

    public Task<GetRecordsResponse> GetRecordsAsync(GetRecordsRequest request, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            CallTimes.Add(time.GetUtcNow());
            if (Fault(CallTimes.Count) is { } error)
            {
                return Task.FromException<GetRecordsResponse>(error);
            }

            var position = int.Parse(request.ShardIterator.AsSpan(3), CultureInfo.InvariantCulture);
            var take = Math.Min(request.Limit ?? 10_000, Records.Count - position);
            var batch = Records.GetRange(position, take);
            var next = position + take;
            var ended = ClosedWithChildren is not null && next == Records.Count;
            return Task.FromResult(new GetRecordsResponse
            {
                Records = batch,
                MillisBehindLatest = Behind(Records.Count - next),
                NextShardIterator = ended ? null : Iterator(next),
                ChildShards = ended && !OmitChildShards
                    ? ClosedWithChildren!.Select(id => new ChildShard { ShardId = id, HashKeyRange = new HashKeyRange { StartingHashKey = "0", EndingHashKey = "1" } }).ToArray()
                    : null,
            });
        }
    }

    private static string Iterator(int position) => "it:" + position.ToString(CultureInfo.InvariantCulture);

    private int IndexAtOrAfter(DateTimeOffset timestamp)
    {
        var index = Records.FindIndex(r => r.ApproximateArrivalTimestamp >= timestamp);
        return index < 0 ? Records.Count : index;
    }

    public Task CreateStreamAsync(CreateStreamRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task DeleteStreamAsync(DeleteStreamRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<DescribeStreamSummaryResponse> DescribeStreamSummaryAsync(DescribeStreamSummaryRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    /// <summary>The shard itself and, once closed, its children naming it as parent.</summary>
    public Task<ListShardsResponse> ListShardsAsync(ListShardsRequest request, CancellationToken cancellationToken = default)
    {
        var range = new HashKeyRange { StartingHashKey = "0", EndingHashKey = "1" };
        var shards = new List<Shard>
        {
            new() { ShardId = ShardId, HashKeyRange = range, SequenceNumberRange = new SequenceNumberRange { StartingSequenceNumber = Sequence(0) } },
            new() { ShardId = "shardId-000000000099", HashKeyRange = range, SequenceNumberRange = new SequenceNumberRange { StartingSequenceNumber = Sequence(0) } },
        };
        shards.AddRange((ClosedWithChildren ?? []).Select(id => new Shard
        {
            ShardId = id,
            ParentShardId = ShardId,
            HashKeyRange = range,
            SequenceNumberRange = new SequenceNumberRange { StartingSequenceNumber = Sequence(0) },
        }));
        return Task.FromResult(new ListShardsResponse { Shards = shards });
    }

    public Task<PutRecordsResponse> PutRecordsAsync(PutRecordsRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task SplitShardAsync(SplitShardRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task MergeShardsAsync(MergeShardsRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();
}
