using System.Text.Json;
using Amazon.DynamoDBv2.Model;
using Amazon.S3.Model;
using Amazon.SQS.Model;
using Pipeline.Aws;
using Pipeline.Testing;

namespace Pipeline.Cli.Tests.Emulators;

/// <summary>Helpers for CLI tests against an emulator: resource names, uploads, queue counts, pipeline files.</summary>
internal sealed class RemoteKit : IDisposable
{
    public RemoteKit(AwsEndpoint endpoint, string tag)
    {
        Endpoint = endpoint;
        Id = Guid.NewGuid().ToString("N")[..8];
        Prefix = $"{tag}{Id}-";
        InBucket = $"{tag}{Id}-in";
        OutBucket = $"{tag}{Id}-out";
        Sqs = endpoint.CreateSqs();
        S3 = endpoint.CreateS3();
        DynamoDb = endpoint.CreateDynamoDb();
        Folder = Directory.CreateTempSubdirectory("bgpipe-remote-").FullName;
    }

    public AwsEndpoint Endpoint { get; }

    public string Id { get; }

    public string Prefix { get; }

    public string InBucket { get; }

    public string OutBucket { get; }

    public string Folder { get; }

    public Amazon.SQS.IAmazonSQS Sqs { get; }

    public Amazon.S3.IAmazonS3 S3 { get; }

    public Amazon.DynamoDBv2.IAmazonDynamoDB DynamoDb { get; }

    public string Url => Endpoint.ServiceUrl!.ToString();

    public Task<Bgpipe.Result> ProvisionAsync(int functionTimeout) =>
        Bgpipe.RunAsync("provision", "--endpoint-url", Url, "--prefix", Prefix, "--function-timeout", functionTimeout.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bucket", InBucket, "--bucket", OutBucket);

    public async Task PutAsync(string bucket, string key, byte[] bytes)
    {
        using var body = new MemoryStream(bytes);
        await S3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, InputStream = body });
    }

    public async Task<List<S3Object>> ListAsync(string bucket, string prefix)
    {
        var all = new List<S3Object>();
        string? token = null;
        do
        {
            ListObjectsV2Response page = await S3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = prefix, ContinuationToken = token });
            all.AddRange(page.S3Objects ?? []);
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (token is not null);
        return all;
    }

    public async Task<string> QueueUrlAsync(string name) => (await Sqs.GetQueueUrlAsync(name)).QueueUrl;

    /// <summary>Visible + in flight + delayed messages on a queue.</summary>
    public async Task<(long Visible, long InFlight)> CountAsync(string queueName)
    {
        GetQueueAttributesResponse a = await Sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest
        {
            QueueUrl = await QueueUrlAsync(queueName),
            AttributeNames = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        });
        return (long.Parse(a.Attributes["ApproximateNumberOfMessages"], System.Globalization.CultureInfo.InvariantCulture),
            long.Parse(a.Attributes["ApproximateNumberOfMessagesNotVisible"], System.Globalization.CultureInfo.InvariantCulture));
    }

    public async Task SendAsync(IEnumerable<string> bodies)
    {
        string url = await QueueUrlAsync(Prefix + "jobs");
        foreach (string[] chunk in bodies.Chunk(10))
        {
            SendMessageBatchResponse r = await Sqs.SendMessageBatchAsync(new SendMessageBatchRequest
            {
                QueueUrl = url,
                Entries = [.. chunk.Select((b, i) => new SendMessageBatchRequestEntry(i.ToString(System.Globalization.CultureInfo.InvariantCulture), b))],
            });
            Assert.Empty(r.Failed ?? []);
        }
    }

    public static string Job(string source, string? destination = null) =>
        JsonSerializer.Serialize(destination is null ? new Dictionary<string, string> { ["source"] = source } : new Dictionary<string, string> { ["source"] = source, ["destination"] = destination });

    /// <summary>Every idempotency record's status, by key.</summary>
    public async Task<Dictionary<string, string>> StatusesAsync()
    {
        var statuses = new Dictionary<string, string>(StringComparer.Ordinal);
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            ScanResponse page = await DynamoDb.ScanAsync(new ScanRequest { TableName = Prefix + "idempotency", ExclusiveStartKey = start, ConsistentRead = true });
            foreach (Dictionary<string, AttributeValue> item in page.Items ?? [])
            {
                statuses[item["id"].S] = item.TryGetValue("status", out AttributeValue? status) ? status.S : string.Empty;
            }

            start = page.LastEvaluatedKey is { Count: > 0 } last ? last : null;
        }
        while (start is not null);
        return statuses;
    }

    /// <summary>Idempotency records in FAILED_PERMANENT with their reasons.</summary>
    public async Task<List<(string Id, string Reason)>> PermanentFailuresAsync()
    {
        var failures = new List<(string, string)>();
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            ScanResponse page = await DynamoDb.ScanAsync(new ScanRequest { TableName = Prefix + "idempotency", ExclusiveStartKey = start });
            foreach (Dictionary<string, AttributeValue> item in page.Items ?? [])
            {
                if (item.TryGetValue("status", out AttributeValue? status) && status.S == "FAILED_PERMANENT")
                {
                    failures.Add((item["id"].S, item.TryGetValue("failure_reason", out AttributeValue? r) ? r.S : string.Empty));
                }
            }

            start = page.LastEvaluatedKey is { Count: > 0 } last ? last : null;
        }
        while (start is not null);
        return failures;
    }

    /// <summary>A pipeline file for <c>bgpipe run</c> with this kit's buckets.</summary>
    public string PipelineFile(int timeoutSeconds, string? filterPattern = null)
    {
        string filter = filterPattern is null ? string.Empty : $"      FilterCriteria:\n        Filters:\n          - Pattern: '{filterPattern}'\n";
        string yaml = $"""
            Function:
              Timeout: {timeoutSeconds}
              Buckets: [{InBucket}, {OutBucket}]
              IdempotencyTable: idempotency
            Events:
              JobsQueue:
                Type: SQS
                Properties:
                  Queue: jobs
                  BatchSize: 10
                  FunctionResponseTypes: [ReportBatchItemFailures]
                  ScalingConfig:
                    MaximumConcurrency: 2

            """ + filter;
        string path = Path.Combine(Folder, "pipeline.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    public static Task UntilAsync(Func<Task<bool>> condition, string what, int seconds) =>
        Wait.UntilAsync(condition, what, TimeSpan.FromSeconds(seconds), TimeSpan.FromMilliseconds(250));

    public void Dispose()
    {
        Sqs.Dispose();
        S3.Dispose();
        DynamoDb.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
