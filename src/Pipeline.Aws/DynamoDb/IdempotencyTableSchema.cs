using System.Text.RegularExpressions;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Microsoft.Extensions.Logging;

namespace Pipeline.Aws.DynamoDb;

/// <summary>
/// The idempotency table's definition, public so provisioning lists the same thing the store expects: partition key
/// <see cref="KeyAttribute"/> (S), on-demand billing, server-side encryption, TTL on <see cref="TtlAttribute"/>, and
/// the global secondary index <see cref="JobKeyIndex"/> on <see cref="JobKeyAttribute"/> that finds a job's records.
/// </summary>
public static partial class IdempotencyTableSchema
{
    /// <summary>The partition key: the idempotency key, a string.</summary>
    public const string KeyAttribute = "id";

    /// <summary>The TTL attribute: epoch seconds after which DynamoDB may delete the record.</summary>
    public const string TtlAttribute = "expiration";

    /// <summary>The job's key, written on every claim: a job has one record per source identity, all with this value.</summary>
    public const string JobKeyAttribute = "job_key";

    /// <summary>
    /// The global secondary index (partition key <see cref="JobKeyAttribute"/>, all attributes projected) that job
    /// status and DLQ redrive query; records without a job key are not in it.
    /// </summary>
    public const string JobKeyIndex = "job_key-index";

    /// <summary>Billing mode: on demand, so bursts of claims need no capacity planning.</summary>
    public static BillingMode BillingMode => BillingMode.PAY_PER_REQUEST;

    /// <summary>Server-side encryption is requested (with the AWS-owned key unless the account says otherwise).</summary>
    public const bool ServerSideEncryption = true;

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>The CreateTable request for <paramref name="tableName"/>.</summary>
    public static CreateTableRequest CreateTableRequest(string tableName)
    {
        ValidateTableName(tableName, nameof(tableName));
        return new CreateTableRequest
        {
            TableName = tableName,
            KeySchema = [new KeySchemaElement(KeyAttribute, KeyType.HASH)],
            AttributeDefinitions = [new AttributeDefinition(KeyAttribute, ScalarAttributeType.S), new AttributeDefinition(JobKeyAttribute, ScalarAttributeType.S)],
            GlobalSecondaryIndexes = [JobKeyIndexDefinition()],
            BillingMode = BillingMode,
            SSESpecification = new SSESpecification { Enabled = ServerSideEncryption },
        };
    }

    /// <summary>The <see cref="JobKeyIndex"/> definition (on-demand tables take no throughput for it).</summary>
    public static GlobalSecondaryIndex JobKeyIndexDefinition() => new()
    {
        IndexName = JobKeyIndex,
        KeySchema = [new KeySchemaElement(JobKeyAttribute, KeyType.HASH)],
        Projection = new Projection { ProjectionType = ProjectionType.ALL },
    };

    /// <summary>The UpdateTable request that adds <see cref="JobKeyIndex"/> to a table made before it existed.</summary>
    public static UpdateTableRequest AddJobKeyIndexRequest(string tableName)
    {
        ValidateTableName(tableName, nameof(tableName));
        var index = JobKeyIndexDefinition();
        return new UpdateTableRequest
        {
            TableName = tableName,
            AttributeDefinitions = [new AttributeDefinition(JobKeyAttribute, ScalarAttributeType.S)],
            GlobalSecondaryIndexUpdates =
            [
                new GlobalSecondaryIndexUpdate
                {
                    Create = new CreateGlobalSecondaryIndexAction { IndexName = index.IndexName, KeySchema = index.KeySchema, Projection = index.Projection },
                },
            ],
        };
    }

    /// <summary>Whether <paramref name="table"/> has <see cref="JobKeyIndex"/>.</summary>
    public static bool HasJobKeyIndex(TableDescription table)
    {
        ArgumentNullException.ThrowIfNull(table);
        return table.GlobalSecondaryIndexes?.Any(i => i.IndexName == JobKeyIndex) == true;
    }

    /// <summary>The UpdateTimeToLive request that turns TTL on for <see cref="TtlAttribute"/>.</summary>
    public static UpdateTimeToLiveRequest TimeToLiveRequest(string tableName)
    {
        ValidateTableName(tableName, nameof(tableName));
        return new UpdateTimeToLiveRequest
        {
            TableName = tableName,
            TimeToLiveSpecification = new TimeToLiveSpecification { AttributeName = TtlAttribute, Enabled = true },
        };
    }

    /// <summary>
    /// Creates the table when missing, waits until it is ACTIVE, checks its key, and turns TTL on. An endpoint without
    /// the TTL API (dynalite) gets a logged warning and a table whose records are never swept.
    /// </summary>
    /// <exception cref="IdempotencyTableMismatchException">The table exists with another key, or TTL on another attribute.</exception>
    public static async Task<IdempotencyTableState> EnsureTableAsync(
        IAmazonDynamoDB client,
        string tableName,
        ILogger logger,
        TimeProvider timeProvider,
        CancellationToken cancellationToken,
        TimeSpan? activeTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ValidateTableName(tableName, nameof(tableName));

        var created = false;
        var table = await DescribeAsync(client, tableName, cancellationToken).ConfigureAwait(false);
        if (table is null)
        {
            try
            {
                await client.CreateTableAsync(CreateTableRequest(tableName), cancellationToken).ConfigureAwait(false);
                created = true;
                LogCreated(logger, tableName);
            }
            catch (ResourceInUseException)
            {
                // Someone else created it at the same moment; fine.
            }
        }

        var deadline = timeProvider.GetUtcNow() + (activeTimeout ?? TimeSpan.FromMinutes(2));
        while (table is null || table.TableStatus != TableStatus.ACTIVE)
        {
            if (table is not null && table.TableStatus != TableStatus.CREATING && table.TableStatus != TableStatus.UPDATING)
            {
                throw new IdempotencyTableMismatchException($"The idempotency table '{tableName}' is {table.TableStatus}, not ACTIVE.");
            }

            if (timeProvider.GetUtcNow() > deadline)
            {
                throw new IdempotencyStoreUnavailableException($"The idempotency table '{tableName}' did not become ACTIVE in time (last status {table?.TableStatus?.Value ?? "missing"}).");
            }

            await Task.Delay(PollInterval, timeProvider, cancellationToken).ConfigureAwait(false);
            table = await DescribeAsync(client, tableName, cancellationToken).ConfigureAwait(false);
        }

        CheckKey(table, tableName);
        if (!HasJobKeyIndex(table))
        {
            await AddJobKeyIndexAsync(client, tableName, logger, cancellationToken).ConfigureAwait(false);
            if (await DescribeAsync(client, tableName, cancellationToken).ConfigureAwait(false) is { } updated && !HasJobKeyIndex(updated))
            {
                // dynalite accepts the update and makes no index.
                LogIndexNotAdded(logger, tableName, JobKeyIndex, "the endpoint accepted the update but made no index");
            }
        }

        var ttl = await EnableTimeToLiveAsync(client, tableName, logger, cancellationToken).ConfigureAwait(false);
        return new IdempotencyTableState(tableName, created, ttl);
    }

    internal static void ValidateTableName(string? tableName, string parameterName)
    {
        if (tableName is null || !TableNamePattern().IsMatch(tableName))
        {
            throw new ArgumentException(
                $"The idempotency table name must be 3 to 255 characters of a-z, A-Z, 0-9, '_', '-' or '.', got '{tableName}'.",
                parameterName);
        }
    }

    /// <summary>
    /// Adds the job-key index to a table made before it existed. Records claimed before that carry no job key, so
    /// status answers "pending" for them; an endpoint that refuses the update gets a warning, and lookups scan instead.
    /// </summary>
    private static async Task AddJobKeyIndexAsync(IAmazonDynamoDB client, string tableName, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            await client.UpdateTableAsync(AddJobKeyIndexRequest(tableName), cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonDynamoDBException e) when (e is not ResourceNotFoundException)
        {
            LogIndexNotAdded(logger, tableName, JobKeyIndex, e.Message);
        }
    }

    private static async Task<bool> EnableTimeToLiveAsync(IAmazonDynamoDB client, string tableName, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            var described = await client.DescribeTimeToLiveAsync(new DescribeTimeToLiveRequest { TableName = tableName }, cancellationToken).ConfigureAwait(false);
            var current = described.TimeToLiveDescription;
            if (current?.TimeToLiveStatus == TimeToLiveStatus.ENABLED || current?.TimeToLiveStatus == TimeToLiveStatus.ENABLING)
            {
                return string.Equals(current.AttributeName, TtlAttribute, StringComparison.Ordinal)
                    ? true
                    : throw new IdempotencyTableMismatchException(
                        $"The idempotency table '{tableName}' has TTL on '{current.AttributeName}', but the store writes '{TtlAttribute}'; its records would never expire.");
            }

            await client.UpdateTimeToLiveAsync(TimeToLiveRequest(tableName), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (AmazonDynamoDBException e) when (e.ErrorCode == "UnknownOperationException")
        {
            LogNoTimeToLive(logger, tableName, TtlAttribute);
            return false;
        }
    }

    private static void CheckKey(TableDescription table, string tableName)
    {
        var keys = table.KeySchema ?? [];
        var type = table.AttributeDefinitions?.FirstOrDefault(a => a.AttributeName == KeyAttribute)?.AttributeType;
        if (keys.Count != 1 || keys[0].AttributeName != KeyAttribute || keys[0].KeyType != KeyType.HASH || type != ScalarAttributeType.S)
        {
            var actual = string.Join(", ", keys.Select(k => $"{k.AttributeName} {k.KeyType}"));
            throw new IdempotencyTableMismatchException(
                $"The idempotency table '{tableName}' has key [{actual}], but the store needs one partition key '{KeyAttribute}' of type S.");
        }
    }

    private static async Task<TableDescription?> DescribeAsync(IAmazonDynamoDB client, string tableName, CancellationToken cancellationToken)
    {
        try
        {
            return (await client.DescribeTableAsync(tableName, cancellationToken).ConfigureAwait(false)).Table;
        }
        catch (ResourceNotFoundException)
        {
            return null;
        }
    }

    [GeneratedRegex("^[a-zA-Z0-9_.-]{3,255}$", RegexOptions.CultureInvariant)]
    private static partial Regex TableNamePattern();

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Created the idempotency table {TableName}")]
    private static partial void LogCreated(ILogger logger, string tableName);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning,
        Message = "The endpoint has no TTL API (dynalite?): TTL on '{TtlAttribute}' of table {TableName} is not enabled, so old idempotency records are never swept")]
    private static partial void LogNoTimeToLive(ILogger logger, string tableName, string ttlAttribute);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning,
        Message = "Could not add the index {IndexName} to the idempotency table {TableName} ({Reason}); job status and DLQ redrive will scan the table instead")]
    private static partial void LogIndexNotAdded(ILogger logger, string tableName, string indexName, string reason);
}

/// <summary>What <see cref="IdempotencyTableSchema.EnsureTableAsync"/> found or did.</summary>
/// <param name="TableName">The table.</param>
/// <param name="Created">Whether this call created it.</param>
/// <param name="TimeToLiveEnabled">Whether TTL is on for <see cref="IdempotencyTableSchema.TtlAttribute"/> (false where the endpoint lacks the API).</param>
public sealed record IdempotencyTableState(string TableName, bool Created, bool TimeToLiveEnabled);

/// <summary>The table exists but is not what the store needs (another key, TTL on another attribute, being deleted).</summary>
public sealed class IdempotencyTableMismatchException : Exception
{
    public IdempotencyTableMismatchException(string message) : base(message) { }

    public IdempotencyTableMismatchException() { }

    public IdempotencyTableMismatchException(string message, Exception inner) : base(message, inner) { }
}
