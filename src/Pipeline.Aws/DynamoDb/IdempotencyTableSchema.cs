using System.Text.RegularExpressions;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Microsoft.Extensions.Logging;

namespace Pipeline.Aws.DynamoDb;

/// <summary>
/// The idempotency table's definition, public so provisioning lists the same thing the store expects: partition key
/// <see cref="KeyAttribute"/> (S), on-demand billing, server-side encryption, and TTL on <see cref="TtlAttribute"/>.
/// </summary>
public static partial class IdempotencyTableSchema
{
    /// <summary>The partition key: the idempotency key, a string.</summary>
    public const string KeyAttribute = "id";

    /// <summary>The TTL attribute: epoch seconds after which DynamoDB may delete the record.</summary>
    public const string TtlAttribute = "expiration";

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
            AttributeDefinitions = [new AttributeDefinition(KeyAttribute, ScalarAttributeType.S)],
            BillingMode = BillingMode,
            SSESpecification = new SSESpecification { Enabled = ServerSideEncryption },
        };
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
