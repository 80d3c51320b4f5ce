using System.Collections.Concurrent;
using System.Text;
using Amazon.DynamoDBv2;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Aws.DynamoDb;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Sources;
using Pipeline.Testing.Emulators;

namespace Pipeline.Aws.Tests.DynamoDb;

/// <summary>A fresh idempotency table on an emulator, and the clients and stores over it; disposes the clients.</summary>
internal sealed class DynamoDbTestKit(EmulatorFixture emulator) : IDisposable
{
    private readonly List<IAmazonDynamoDB> _clients = [];

    public string TableName { get; } = $"idem-{Guid.NewGuid():N}";

    public EmulatorFixture Emulator => emulator;

    public async Task<IdempotencyTableState> CreateTableAsync(ILogger? logger = null) =>
        await IdempotencyTableSchema.EnsureTableAsync(NewClient(), TableName, logger ?? NullLogger.Instance, TimeProvider.System, CancellationToken.None);

    /// <summary>A client of its own, as another process would have.</summary>
    public IAmazonDynamoDB NewClient()
    {
        var client = emulator.Endpoint.CreateDynamoDb();
        lock (_clients)
        {
            _clients.Add(client);
        }

        return client;
    }

    public DynamoDbIdempotencyStore NewStore(Func<DynamoDbIdempotencyStoreOptions, DynamoDbIdempotencyStoreOptions>? configure = null)
    {
        var options = new DynamoDbIdempotencyStoreOptions { TableName = TableName };
        return new DynamoDbIdempotencyStore(NewClient(), configure is null ? options : configure(options));
    }

    public void Dispose()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }
    }
}

/// <summary>A job function that counts calls per job key, optionally doing something before it returns.</summary>
internal sealed class CountingJobFunction(Func<Job, InvocationContext, CancellationToken, Task>? body = null) : IJobFunction
{
    public ConcurrentDictionary<string, int> CallsByKey { get; } = new();

    public async ValueTask<JobOutput> InvokeAsync(Job job, InvocationContext context, CancellationToken cancellationToken)
    {
        CallsByKey.AddOrUpdate(job.Key, 1, (_, n) => n + 1);
        if (body is not null)
        {
            await body(job, context, cancellationToken);
        }

        return new JobOutput("s3://out/" + job.Source);
    }
}

/// <summary>An acknowledger that only keeps what it was told to acknowledge.</summary>
internal sealed class KeepingAcknowledger : IBatchAcknowledger
{
    public TimeSpan VisibilityTimeout { get; } = TimeSpan.FromSeconds(60);

    public ConcurrentQueue<ItemResult> Acknowledged { get; } = new();

    public ValueTask AcknowledgeAsync(IReadOnlyList<ItemResult> results, CancellationToken cancellationToken)
    {
        foreach (var result in results)
        {
            Acknowledged.Enqueue(result);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask ExtendAsync(IReadOnlyList<SourceRecord> records, TimeSpan visibility, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask ReleaseAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

internal static class JobRecords
{
    private static int _next;

    /// <summary>A decoded SQS-like record carrying the job <c>{"jobId": jobId, "source": source}</c>.</summary>
    public static DecodedRecord Job(string jobId, string source)
    {
        var record = new SourceRecord
        {
            Id = $"m-{Interlocked.Increment(ref _next)}",
            Body = Encoding.UTF8.GetBytes($$"""{"jobId":"{{jobId}}","source":"{{source}}"}"""),
            Source = "test://dynamodb-race",
            ReceiptHandle = "rh",
        };
        Assert.True(JsonJobDecoder.Instance.TryDecode(record.Body.Span, out var job, out var error), error);
        return DecodedRecord.Valid(record, job!, job!.Key);
    }
}

/// <summary>Keeps log lines so a test can assert that a warning was written.</summary>
internal sealed class ListLogger : ILogger
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Enqueue((logLevel, formatter(state, exception)));
}
