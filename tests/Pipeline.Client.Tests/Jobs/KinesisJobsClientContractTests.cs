using System.Text;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Client.Jobs;
using Pipeline.Client.Tests.Fakes;
using Pipeline.Core.Records;
using Pipeline.Testing;
using Pipeline.Testing.Emulators;
using Record = Pipeline.Aws.Kinesis.Client.Record;

namespace Pipeline.Client.Tests.Jobs;

/// <summary>The Kinesis jobs client against each Kinesis emulator.</summary>
public abstract class KinesisJobsClientContractTests(EmulatorFixture emulator)
{
    /// <summary>PutRecords requests side by side in the 1,200-job test.</summary>
    protected virtual int Concurrency => 4;

    private static readonly KinesisJobsClientOptions FastRetries = new() { RetryBaseDelay = TimeSpan.FromMilliseconds(5), RetryMaxDelay = TimeSpan.FromMilliseconds(20) };

    [Fact]
    public async Task Given_1200_jobs_some_with_partition_keys_When_enqueued_Then_each_record_is_on_the_stream_once_with_its_key_and_body()
    {
        using var kinesis = emulator.Endpoint.CreateKinesis();
        string stream = await CreateActiveStreamAsync(kinesis, 2);
        var client = new KinesisJobsClient(kinesis, stream, FastRetries with { MaxConcurrentRequests = Concurrency });
        var requests = Enumerable.Range(0, 1200).Select(i => new JobRequest
        {
            Source = $"s3://in/{i}.jpg",
            JobId = i % 7 == 0 ? $"mine-{i}" : null,
            PartitionKey = i % 10 == 0 ? $"customer-{i % 3}" : null,
        }).ToList();

        IReadOnlyList<string> ids = await client.EnqueueManyAsync(requests);

        Assert.Equal(1200, ids.Distinct().Count());
        Assert.All(Enumerable.Range(0, 1200).Where(i => i % 7 == 0), i => Assert.Equal($"mine-{i}", ids[i]));
        var read = await ReadStreamAsync(kinesis, stream, 1200);
        var byJob = new Dictionary<string, (Job Job, string Key)>(StringComparer.Ordinal);
        foreach (Record record in read)
        {
            Assert.True(JsonJobDecoder.Instance.TryDecode(record.Data.ToArray(), out Job? job, out string? error), error);
            Assert.True(byJob.TryAdd(job!.JobId!, (job, record.PartitionKey)), $"job {job.JobId} is on the stream twice");
        }

        Assert.Equal(1200, byJob.Count);
        for (int i = 0; i < 1200; i++)
        {
            var (job, key) = byJob[ids[i]];
            Assert.Equal($"s3://in/{i}.jpg", job.Source);
            Assert.Equal(i % 10 == 0 ? $"customer-{i % 3}" : ids[i], key);
        }
    }

    [Fact]
    public async Task Given_the_first_PutRecords_answers_some_entries_with_an_ErrorCode_When_enqueued_Then_those_are_resent_and_every_job_arrives_exactly_once()
    {
        using var handler = new PutRecordsFaultHandler { DropEvery = 3 };
        using var kinesis = emulator.Endpoint.CreateKinesis(handler);
        string stream = await CreateActiveStreamAsync(kinesis, 1);
        var client = new KinesisJobsClient(kinesis, stream, FastRetries with { MaxConcurrentRequests = 1 });
        var requests = Enumerable.Range(0, 30).Select(i => new JobRequest { Source = $"s3://in/{i}.jpg", JobId = $"r-{i}" }).ToList();

        IReadOnlyList<string> ids = await client.EnqueueManyAsync(requests);

        Assert.Equal(10, handler.Dropped.Count);
        Assert.Equal(2, handler.PutRecordsCalls);
        var read = await ReadStreamAsync(kinesis, stream, 30);
        Assert.Equal(ids.Order(StringComparer.Ordinal), read.Select(r => r.PartitionKey).Order(StringComparer.Ordinal));
        Assert.All(handler.Dropped, key => Assert.Single(read, r => r.PartitionKey == key));
    }

    [Fact]
    public async Task Given_the_first_PutRecords_is_throttled_whole_When_enqueued_Then_the_request_is_resent_and_every_job_arrives_once()
    {
        using var handler = new PutRecordsFaultHandler { FailWholeRequest = true };
        using var kinesis = emulator.Endpoint.CreateKinesis(handler);
        string stream = await CreateActiveStreamAsync(kinesis, 1);
        var client = new KinesisJobsClient(kinesis, stream, FastRetries);

        IReadOnlyList<string> ids = await client.EnqueueManyAsync([.. Enumerable.Range(0, 12).Select(i => new JobRequest { Source = $"s3://in/{i}.jpg" })]);

        Assert.Equal(2, handler.PutRecordsCalls);
        var read = await ReadStreamAsync(kinesis, stream, 12);
        Assert.Equal(ids.Order(StringComparer.Ordinal), read.Select(r => r.PartitionKey).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Given_every_PutRecords_is_throttled_When_enqueued_Then_it_gives_up_after_MaxAttempts_naming_every_job_in_order()
    {
        using var handler = new PutRecordsFaultHandler { FailAll = true };
        using var kinesis = emulator.Endpoint.CreateKinesis(handler);
        string stream = await CreateActiveStreamAsync(kinesis, 1);
        var client = new KinesisJobsClient(kinesis, stream, FastRetries with { MaxAttempts = 3 });

        var error = await Assert.ThrowsAsync<KinesisEnqueueFailedException>(() => client.EnqueueManyAsync(
            [.. Enumerable.Range(0, 5).Select(i => new JobRequest { Source = $"s3://in/{i}.jpg", JobId = $"t-{i}" })]));

        Assert.Equal(3, handler.PutRecordsCalls);
        Assert.Equal(["t-0", "t-1", "t-2", "t-3", "t-4"], error.JobIds);
        Assert.Contains("ProvisionedThroughputExceededException", error.Message, StringComparison.Ordinal);
        Assert.Contains("3 attempt(s)", error.Message, StringComparison.Ordinal);
        Assert.IsType<KinesisThroughputExceededException>(error.InnerException);
        Assert.Empty(await ReadStreamAsync(kinesis, stream, 0));
    }

    [Fact]
    public async Task Given_jobs_of_nearly_1_MiB_each_When_enqueued_Then_no_request_carries_more_than_5_MiB_and_all_arrive()
    {
        using var handler = new PutRecordsFaultHandler { DropEvery = 0, MeasureRequests = true };
        using var kinesis = emulator.Endpoint.CreateKinesis(handler);
        string stream = await CreateActiveStreamAsync(kinesis, 1);
        var client = new KinesisJobsClient(kinesis, stream, FastRetries with { MaxConcurrentRequests = 1 });
        string padding = new('p', 900_000);

        IReadOnlyList<string> ids = await client.EnqueueManyAsync([.. Enumerable.Range(0, 12).Select(i => new JobRequest { Source = $"s3://in/{i}/{padding}.jpg" })]);

        Assert.All(handler.Requests, r => Assert.True(r.Bytes <= KinesisJobsClient.MaxRequestBytes, $"a request of {r.Bytes:N0} bytes"));
        Assert.Equal(12, handler.Requests.Sum(r => r.Records));
        Assert.True(handler.Requests.Count >= 3, $"{handler.Requests.Count} requests for 10.8 MB");
        var read = await ReadStreamAsync(kinesis, stream, 12);
        Assert.Equal(ids.Order(StringComparer.Ordinal), read.Select(r => r.PartitionKey).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Given_a_stream_that_does_not_exist_When_enqueued_Then_it_throws_naming_every_job_not_sent()
    {
        using var kinesis = emulator.Endpoint.CreateKinesis();
        var client = new KinesisJobsClient(kinesis, $"missing-{Guid.NewGuid():N}", FastRetries);

        var error = await Assert.ThrowsAsync<KinesisEnqueueFailedException>(() => client.EnqueueManyAsync(
            [new JobRequest { Source = "s3://in/a.jpg", JobId = "lost-a" }, new JobRequest { Source = "s3://in/b.jpg", JobId = "lost-b" }]));

        Assert.Equal(["lost-a", "lost-b"], error.JobIds);
        Assert.Contains("'lost-a'", error.Message, StringComparison.Ordinal);
        Assert.Contains(client.StreamName, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("colour")]
    [InlineData("key")]
    [InlineData("size")]
    public async Task Given_a_batch_with_one_job_a_record_cannot_carry_When_enqueued_Then_it_throws_naming_it_and_nothing_is_sent(string fault)
    {
        using var handler = new PutRecordsFaultHandler();
        using var kinesis = emulator.Endpoint.CreateKinesis(handler);
        string stream = await CreateActiveStreamAsync(kinesis, 1);
        var client = new KinesisJobsClient(kinesis, stream, FastRetries);
        var bad = fault switch
        {
            "colour" => new JobRequest { Source = "s3://in/bad.jpg", JobId = "bad-one", Background = "blue" },
            "key" => new JobRequest { Source = "s3://in/bad.jpg", JobId = "bad-one", PartitionKey = new string('k', 257) },
            _ => new JobRequest { Source = "s3://in/" + new string('x', KinesisJobsClient.MaxRecordBytes), JobId = "bad-one" },
        };

        var error = await Assert.ThrowsAsync<JobValidationException>(() => client.EnqueueManyAsync([new JobRequest { Source = "s3://in/ok.jpg" }, bad]));

        Assert.Contains("bad-one", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, handler.PutRecordsCalls);
        Assert.Empty(await ReadStreamAsync(kinesis, stream, 0));
    }

    private static async Task<string> CreateActiveStreamAsync(IKinesisClient kinesis, int shards)
    {
        string stream = $"jobs-{Guid.NewGuid():N}";
        await kinesis.CreateStreamAsync(new CreateStreamRequest { StreamName = stream, ShardCount = shards });
        await Wait.UntilAsync(
            async () => (await kinesis.DescribeStreamSummaryAsync(new DescribeStreamSummaryRequest { StreamName = stream })).StreamDescriptionSummary.StreamStatus == StreamStatus.Active,
            $"stream {stream} ACTIVE");
        return stream;
    }

    /// <summary>Every record on every shard from TRIM_HORIZON, read until caught up (at least <paramref name="expected"/>).</summary>
    private static async Task<List<Record>> ReadStreamAsync(IKinesisClient kinesis, string stream, int expected)
    {
        var records = new List<Record>();
        foreach (Shard shard in await kinesis.ListAllShardsAsync(stream))
        {
            string? iterator = (await kinesis.GetShardIteratorAsync(new GetShardIteratorRequest { StreamName = stream, ShardId = shard.ShardId, ShardIteratorType = ShardIteratorType.TrimHorizon })).ShardIterator;
            for (int calls = 0; iterator is not null && calls < 100; calls++)
            {
                var page = await kinesis.GetRecordsAsync(new GetRecordsRequest { ShardIterator = iterator });
                records.AddRange(page.Records);
                if (page.Records.Count == 0 && (page.MillisBehindLatest ?? 0) == 0)
                {
                    break;
                }

                iterator = page.NextShardIterator;
            }
        }

        Assert.True(records.Count >= expected, $"read {records.Count} records, expected {expected}");
        return records;
    }
}

[Collection(EmulatorCollections.Kinesalite)]
public sealed class KinesisJobsClientOnKinesalite(KinesaliteFixture f) : KinesisJobsClientContractTests(f);

[Collection(EmulatorCollections.Moto)]
public sealed class KinesisJobsClientOnMoto(MotoFixture f) : KinesisJobsClientContractTests(f)
{
    // moto 5.2.1 lost one record of 1,200 in two of three runs with four PutRecords requests side by side (every
    // request answered success for every entry), and none in three sequential runs: its shard bookkeeping is not
    // safe under concurrent writes. Kinesalite keeps them all, so the concurrent path is covered there.
    protected override int Concurrency => 1;
}
