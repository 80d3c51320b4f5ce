using Amazon.DynamoDBv2;
using Amazon.S3;
using Microsoft.Extensions.Logging;
using Pipeline.Aws;
using Pipeline.Aws.DynamoDb;
using Pipeline.Aws.S3;
using Pipeline.BackgroundRemoval;
using Pipeline.BackgroundRemoval.Function;
using Pipeline.BackgroundRemoval.Model;
using Pipeline.Core.Batching;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Lambda.Handlers;

namespace Pipeline.Lambda.Hosting;

/// <summary>
/// Everything the function builds once per execution environment (the init phase): the model, the DynamoDB and S3
/// clients, the idempotency guard, the S3 background-removal function and both handlers. Built the way
/// Pipeline.Cli's RemoteStack builds them for <c>bgpipe run</c>, so the same code runs locally and in Lambda.
/// </summary>
public sealed partial class LambdaStack : IAsyncDisposable
{
    private readonly MatteModel _model;
    private readonly IAmazonDynamoDB _dynamoDb;
    private readonly IAmazonS3 _s3;

    private LambdaStack(MatteModel model, IAmazonDynamoDB dynamoDb, IAmazonS3 s3, LambdaFunction function)
    {
        _model = model;
        _dynamoDb = dynamoDb;
        _s3 = s3;
        Function = function;
    }

    public LambdaFunction Function { get; }

    /// <summary>Loads the model and connects; throws with a message naming what is missing or wrong.</summary>
    public static LambdaStack Create(LambdaSettings settings, TimeProvider time, ILoggerFactory loggers) =>
        CreateAsync(settings, time, loggers, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>
    /// Loads the model while the DynamoDB and S3 clients make one cheap call each (DescribeTable, a one-key listing),
    /// so the SDK's first-call costs are paid during init, beside the model load, rather than by the first record.
    /// A warm-up call that fails is logged, not fatal: the records report their own errors.
    /// </summary>
    public static async Task<LambdaStack> CreateAsync(LambdaSettings settings, TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(loggers);
        if (!File.Exists(settings.ModelPath))
        {
            throw new ModelNotFoundException(
                $"model not found at {settings.ModelPath}: deploy the ModelLayer (it puts u2netp.onnx under /opt/models) or point {LambdaSettings.ModelPathVariable} at the model file");
        }

        Task<MatteModel> loading = Task.Run(() => MatteModel.Load(settings.ModelPath), cancellationToken);
        AwsEndpoint endpoint = AwsEndpoint.FromOption(settings.EndpointUrl);
        IAmazonDynamoDB dynamoDb = endpoint.CreateDynamoDb();
        IAmazonS3 s3 = endpoint.CreateS3();
        await WarmUpAsync(dynamoDb, s3, settings, loggers.CreateLogger<LambdaStack>(), cancellationToken).ConfigureAwait(false);
        MatteModel model;
        try
        {
            model = await loading.ConfigureAwait(false);
        }
        catch
        {
            dynamoDb.Dispose();
            s3.Dispose();
            throw;
        }

        try
        {
            var store = new DynamoDbIdempotencyStore(
                dynamoDb, new DynamoDbIdempotencyStoreOptions { TableName = settings.IdempotencyTable }, loggers.CreateLogger<DynamoDbIdempotencyStore>());
            InvokerOptions invoker = BatchHandler.LambdaInvokerOptions;
            var guard = new IdempotencyGuard(store, OwnerIdentity.Current.WithNewInstance().ToString(), new LocalProcessLiveness(), time, invoker.ClaimLease);

            var objects = new S3ObjectStore(s3, new S3ObjectStoreOptions { AllowedBuckets = [.. settings.Buckets] }, loggers.CreateLogger<S3ObjectStore>());
            S3BackgroundRemovalOptions options = settings.OutputPrefix is null
                ? new S3BackgroundRemovalOptions()
                : new S3BackgroundRemovalOptions { DefaultDestinationPrefix = settings.OutputPrefix };
            IJobFunction function = new BackgroundRemovalFunction(new S3BackgroundRemovalFunction(objects, new BackgroundRemover(model), options), null);

            ILogger logger = loggers.CreateLogger<LambdaFunction>();
            var sqs = new BatchHandler(function, guard, AutoJobDecoder.Instance, invoker, BatchingOptions.ForSqs(), settings.Deadline, time, logger);
            var kinesis = new BatchHandler(function, guard, AutoJobDecoder.Instance, invoker with { StopOnFirstFailure = true }, BatchingOptions.ForKinesis(), settings.Deadline, time, logger);
            return new LambdaStack(model, dynamoDb, s3, new LambdaFunction(new SqsHandler(sqs), new KinesisHandler(kinesis)));
        }
        catch
        {
            model.Dispose();
            dynamoDb.Dispose();
            s3.Dispose();
            throw;
        }
    }

    private static async Task WarmUpAsync(IAmazonDynamoDB dynamoDb, IAmazonS3 s3, LambdaSettings settings, ILogger logger, CancellationToken cancellationToken)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            await Task.WhenAll(
                dynamoDb.DescribeTableAsync(settings.IdempotencyTable, bound.Token),
                s3.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = settings.Buckets.First(), MaxKeys = 1 }, bound.Token)).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogWarmUpFailed(logger, ex.Message);
        }
    }

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "Init warm-up call failed (the first records will say more if it matters): {Reason}")]
    private static partial void LogWarmUpFailed(ILogger logger, string reason);

    public ValueTask DisposeAsync()
    {
        _dynamoDb.Dispose();
        _s3.Dispose();
        _model.Dispose();
        return ValueTask.CompletedTask;
    }
}
