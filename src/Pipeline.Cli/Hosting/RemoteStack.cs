using Amazon.DynamoDBv2;
using Amazon.S3;
using Amazon.SQS;
using Microsoft.Extensions.Logging;
using Pipeline.Aws;
using Pipeline.Aws.DynamoDb;
using Pipeline.Aws.S3;
using Pipeline.Aws.Sqs;
using Pipeline.BackgroundRemoval;
using Pipeline.BackgroundRemoval.Function;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Storage;

namespace Pipeline.Cli.Hosting;

/// <summary>
/// The AWS-facing parts one host shares between its mappings: the SQS, DynamoDB and S3 clients for one endpoint, the
/// DynamoDB idempotency store and guard, and the background-removal function over S3 (plus local files when the host
/// has file roots). Built by <c>bgpipe run</c> and by <c>bgpipe backlog --endpoint-url</c>.
/// </summary>
internal sealed class RemoteStack : IAsyncDisposable
{
    private RemoteStack(AwsEndpoint endpoint, IAmazonSQS sqs, IAmazonDynamoDB dynamoDb, IAmazonS3 s3)
    {
        Endpoint = endpoint;
        Sqs = sqs;
        DynamoDb = dynamoDb;
        S3 = s3;
    }

    public AwsEndpoint Endpoint { get; }

    public IAmazonSQS Sqs { get; }

    public IAmazonDynamoDB DynamoDb { get; }

    public IAmazonS3 S3 { get; }

    public static RemoteStack Connect(AwsEndpoint endpoint) =>
        new(endpoint, endpoint.CreateSqs(), endpoint.CreateDynamoDb(), endpoint.CreateS3());

    /// <summary>The idempotency guard over the DynamoDB table; the owner is this process (host, pid, start, instance).</summary>
    public IdempotencyGuard CreateGuard(string tableName, InvokerOptions invoker, TimeProvider time, ILoggerFactory loggers)
    {
        var store = new DynamoDbIdempotencyStore(DynamoDb, new DynamoDbIdempotencyStoreOptions { TableName = tableName }, loggers.CreateLogger<DynamoDbIdempotencyStore>());
        string owner = OwnerIdentity.Current.WithNewInstance().ToString();
        return new IdempotencyGuard(store, owner, new LocalProcessLiveness(), time, invoker.ClaimLease);
    }

    /// <summary>
    /// The function: S3 jobs limited to <paramref name="buckets"/> (the allow-list), and local paths only when
    /// <paramref name="fileRoots"/> are given (local mode).
    /// </summary>
    public IJobFunction CreateFunction(
        BackgroundRemover remover,
        IReadOnlyCollection<string> buckets,
        string? defaultDestinationPrefix,
        FileRoots? fileRoots,
        IFunctionCallLog? callLog,
        ILoggerFactory loggers)
    {
        S3BackgroundRemovalFunction? s3 = null;
        if (buckets.Count > 0)
        {
            var store = new S3ObjectStore(S3, new S3ObjectStoreOptions { AllowedBuckets = [.. buckets] }, loggers.CreateLogger<S3ObjectStore>());
            var options = defaultDestinationPrefix is null
                ? new S3BackgroundRemovalOptions()
                : new S3BackgroundRemovalOptions { DefaultDestinationPrefix = defaultDestinationPrefix };
            s3 = new S3BackgroundRemovalFunction(store, remover, options, callLog);
        }

        FileBackgroundRemovalFunction? files = fileRoots is null ? null : new FileBackgroundRemovalFunction(fileRoots, remover, callLog);
        if (s3 is null && files is null)
        {
            throw new HostConfigurationException("the function has no S3 buckets allowed and no local folders; list buckets under Function.Buckets");
        }

        return new BackgroundRemovalFunction(s3, files);
    }

    public async Task<SqsRecordSource> CreateSqsSourceAsync(string queue, int waitTimeSeconds, TimeProvider time, ILoggerFactory loggers, CancellationToken ct) =>
        await SqsRecordSource.CreateAsync(Sqs, new SqsSourceOptions { Queue = queue, WaitTimeSeconds = waitTimeSeconds }, time, loggers.CreateLogger<SqsRecordSource>(), ct).ConfigureAwait(false);

    public ValueTask DisposeAsync()
    {
        Sqs.Dispose();
        DynamoDb.Dispose();
        S3.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>A host setting that cannot work (no buckets, an unsupported event type); the message names it.</summary>
internal sealed class HostConfigurationException : Exception
{
    public HostConfigurationException(string message) : base(message) { }

    public HostConfigurationException() { }

    public HostConfigurationException(string message, Exception inner) : base(message, inner) { }
}
