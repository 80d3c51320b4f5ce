using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Amazon.SQS.Model;
using Pipeline.Aws;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Aws.Kinesis.Leases;

namespace Pipeline.Cli.Tests.Emulators;

/// <summary>
/// CLI tests of Kinesis hosting: moto_server for S3, SQS and DynamoDB (<see cref="Remote"/>), kinesalite for the stream
/// (given to bgpipe as --kinesis-endpoint-url).
/// </summary>
internal sealed class KinesisKit : IDisposable
{
    public const string LeaseDuration = "2";

    public KinesisKit(AwsEndpoint moto, AwsEndpoint kinesalite, string tag)
    {
        Remote = new RemoteKit(moto, tag);
        KinesisEndpoint = kinesalite;
        Kinesis = kinesalite.CreateKinesis();
        Leases = new DynamoDbLeaseStore(Remote.DynamoDb, Remote.Prefix + "kinesis-leases");
    }

    public RemoteKit Remote { get; }

    public AwsEndpoint KinesisEndpoint { get; }

    public KinesisClient Kinesis { get; }

    public DynamoDbLeaseStore Leases { get; }

    public string Stream => Remote.Prefix + "jobs-stream";

    public string FailuresQueue => Remote.Prefix + "jobs-stream-failures";

    public string KinesisUrl => KinesisEndpoint.ServiceUrl!.ToString();

    public Task<Bgpipe.Result> ProvisionAsync(int shards) =>
        Bgpipe.RunAsync("provision", "--endpoint-url", Remote.Url, "--kinesis-endpoint-url", KinesisUrl, "--prefix", Remote.Prefix,
            "--shards", shards.ToString(CultureInfo.InvariantCulture), "--bucket", Remote.InBucket, "--bucket", Remote.OutBucket);

    /// <summary><c>bgpipe run</c> arguments for this kit with the short test periods.</summary>
    public string[] RunArgs(string pipeline, string callLog, string? workerId = null, string leaseDuration = LeaseDuration)
    {
        string[] args =
        [
            "run", pipeline, "--endpoint-url", Remote.Url, "--kinesis-endpoint-url", KinesisUrl, "--prefix", Remote.Prefix,
            "--lease-duration", leaseDuration, "--claim-lease", "4", "--heartbeat", "1", "--call-log", callLog,
        ];
        return workerId is null ? args : [.. args, "--worker-id", workerId];
    }

    /// <summary>A pipeline file with one Kinesis event on the provisioned stream; <paramref name="extra"/> adds properties (indented 6).</summary>
    public string PipelineFile(string extra = "", string stream = "jobs-stream", string name = "pipeline.yaml")
    {
        string yaml = $"""
            Function:
              Timeout: 10
              Buckets: [{Remote.InBucket}, {Remote.OutBucket}]
              IdempotencyTable: idempotency
            Events:
              JobsStream:
                Type: Kinesis
                Properties:
                  Stream: {stream}
                  StartingPosition: TRIM_HORIZON
                  BatchSize: 10
                  ParallelizationFactor: 2
                  FunctionResponseTypes: [ReportBatchItemFailures]
                  BisectBatchOnFunctionError: true

            """ + extra;
        string path = Path.Combine(Remote.Folder, name);
        File.WriteAllText(path, yaml);
        return path;
    }

    public const string OnFailureSqs = """
              MaximumRetryAttempts: 1
              DestinationConfig:
                OnFailure:
                  Type: SQS
                  Destination: jobs-stream-failures

        """;

    /// <summary>Puts records (partition key, data) in order, 500 at a time; the result of each, in the same order.</summary>
    public async Task<List<PutRecordsResultEntry>> PutAsync(IReadOnlyList<(string Key, byte[] Data)> records)
    {
        var results = new List<PutRecordsResultEntry>();
        foreach ((string Key, byte[] Data)[] chunk in records.Chunk(500))
        {
            PutRecordsResponse response = await Kinesis.PutRecordsAsync(new PutRecordsRequest
            {
                StreamName = Stream,
                Records = [.. chunk.Select(r => new PutRecordsRequestEntry { PartitionKey = r.Key, Data = r.Data })],
            });
            Assert.Equal(0, response.FailedRecordCount ?? 0);
            results.AddRange(response.Records);
        }

        return results;
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>The open shard each partition key goes to (Kinesis's own MD5 routing).</summary>
    public async Task<string> ShardOfAsync(string partitionKey) =>
        KinesisHashing.ShardFor(partitionKey, await Kinesis.ListAllShardsAsync(Stream)).ShardId;

    /// <summary>A partition key that Kinesis routes to <paramref name="shardId"/>.</summary>
    public async Task<string> KeyForShardAsync(string shardId, string stem)
    {
        IReadOnlyList<Shard> shards = await Kinesis.ListAllShardsAsync(Stream);
        for (int i = 0; ; i++)
        {
            string key = $"{stem}-{i}";
            if (KinesisHashing.ShardFor(key, shards).ShardId == shardId)
            {
                return key;
            }
        }
    }

    public async Task<IReadOnlyList<Lease>> LeasesAsync() => await Leases.ListAsync(CancellationToken.None);

    /// <summary>Every message on the on-failure queue (received and deleted), parsed.</summary>
    public async Task<List<JsonElement>> DrainFailuresAsync(int expected)
    {
        string url = await Remote.QueueUrlAsync(FailuresQueue);
        var all = new List<JsonElement>();
        await RemoteKit.UntilAsync(async () =>
        {
            ReceiveMessageResponse r = await Remote.Sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, MaxNumberOfMessages = 10, WaitTimeSeconds = 1 });
            foreach (Message m in r.Messages ?? [])
            {
                all.Add(JsonDocument.Parse(m.Body).RootElement.Clone());
                await Remote.Sqs.DeleteMessageAsync(url, m.ReceiptHandle);
            }

            return all.Count >= expected;
        }, $"{expected} on-failure records on {FailuresQueue}", 120);
        return all;
    }

    public static BigInteger Sequence(string sequenceNumber) => BigInteger.Parse(sequenceNumber, CultureInfo.InvariantCulture);

    public void Dispose()
    {
        Kinesis.Dispose();
        Remote.Dispose();
    }
}
