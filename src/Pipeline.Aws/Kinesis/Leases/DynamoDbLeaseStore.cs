using System.Globalization;
using System.Net;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using static Pipeline.Aws.Kinesis.Leases.LeaseTableSchema;

namespace Pipeline.Aws.Kinesis.Leases;

/// <summary>
/// <see cref="ILeaseStore"/> on a DynamoDB table (<see cref="LeaseTableSchema"/>): every write is one conditional
/// PutItem/UpdateItem that adds 1 to <c>leaseCounter</c> and returns the item as written (ALL_NEW), so the caller
/// holds the version the next conditional write compares against.
/// </summary>
/// <remarks>
/// Conditions: take on the counter (whoever wrote in between wins); renew on owner and counter (a renew after a steal
/// fails); checkpoint and release on the owner only (a renew racing in the same host must not lose a checkpoint).
/// Transient failures are retried by the SDK client as configured; the store does not own the client.
/// </remarks>
public sealed class DynamoDbLeaseStore : ILeaseStore
{
    private readonly IAmazonDynamoDB _client;
    private readonly string _table;

    public DynamoDbLeaseStore(IAmazonDynamoDB client, string tableName = DefaultTableName)
    {
        ArgumentNullException.ThrowIfNull(client);
        Aws.DynamoDb.IdempotencyTableSchema.ValidateTableName(tableName, nameof(tableName));
        _client = client;
        _table = tableName;
    }

    public string TableName => _table;

    public async Task<int> CreateIfMissingAsync(IReadOnlyList<NewLease> leases, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(leases);
        foreach (var lease in leases)
        {
            ArgumentNullException.ThrowIfNull(lease, nameof(leases));
            ValidateShardId(lease.ShardId, nameof(leases));
            ArgumentNullException.ThrowIfNull(lease.ParentShardIds, nameof(leases));
            foreach (var parent in lease.ParentShardIds)
            {
                ValidateShardId(parent, nameof(leases));
            }

            Checkpoints.Validate(lease.InitialCheckpoint, nameof(leases));
        }

        var created = 0;
        foreach (var lease in leases)
        {
            var item = new Dictionary<string, AttributeValue>(StringComparer.Ordinal)
            {
                [KeyAttribute] = S(lease.ShardId),
                [CounterAttribute] = N(0),
                [CheckpointAttribute] = S(lease.InitialCheckpoint),
                [OwnerSwitchesAttribute] = N(0),
            };
            if (lease.ParentShardIds.Count > 0)
            {
                // A string set cannot be empty, so an original shard has no attribute (as in KCL).
                item[ParentsAttribute] = new AttributeValue { SS = [.. lease.ParentShardIds.Distinct(StringComparer.Ordinal)] };
            }

            var put = new PutItemRequest
            {
                TableName = _table,
                Item = item,
                ConditionExpression = "attribute_not_exists(#k)",
                ExpressionAttributeNames = new(StringComparer.Ordinal) { ["#k"] = KeyAttribute },
            };
            if (await ConditionalAsync(c => _client.PutItemAsync(put, c), "PutItem (create)", lease.ShardId, cancellationToken).ConfigureAwait(false) is not null)
            {
                created++;
            }
        }

        return created;
    }

    public async Task<Lease?> GetAsync(string leaseKey, CancellationToken cancellationToken)
    {
        ValidateShardId(leaseKey, nameof(leaseKey));
        var get = new GetItemRequest
        {
            TableName = _table,
            Key = new(StringComparer.Ordinal) { [KeyAttribute] = S(leaseKey) },
            ConsistentRead = true,
        };
        var response = await CallAsync(c => _client.GetItemAsync(get, c), "GetItem", leaseKey, cancellationToken).ConfigureAwait(false);
        return response.Item is { Count: > 0 } item ? ToLease(item) : null;
    }

    public async Task<IReadOnlyList<Lease>> ListAsync(CancellationToken cancellationToken)
    {
        var leases = new List<Lease>();
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var scan = new ScanRequest { TableName = _table, ConsistentRead = true, ExclusiveStartKey = start };
            var page = await CallAsync(c => _client.ScanAsync(scan, c), "Scan", "*", cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items ?? [])
            {
                leases.Add(ToLease(item));
            }

            start = page.LastEvaluatedKey is { Count: > 0 } last ? last : null;
        }
        while (start is not null);

        leases.Sort((a, b) => string.CompareOrdinal(a.LeaseKey, b.LeaseKey));
        return leases;
    }

    public Task<Lease?> TryTakeAsync(Lease lease, string owner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ValidateOwner(owner, nameof(owner));
        var switched = string.Equals(lease.Owner, owner, StringComparison.Ordinal) ? 0 : 1;
        return UpdateAsync(
            lease.LeaseKey,
            "SET #o = :me ADD #c :one, #sw :switched",
            "#c = :expected",
            new() { ["#o"] = OwnerAttribute, ["#c"] = CounterAttribute, ["#sw"] = OwnerSwitchesAttribute },
            new() { [":me"] = S(owner), [":one"] = N(1), [":switched"] = N(switched), [":expected"] = N(lease.Counter) },
            "UpdateItem (take)",
            cancellationToken);
    }

    public Task<Lease?> TryRenewAsync(Lease lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var owner = OwnerOf(lease);
        return UpdateAsync(
            lease.LeaseKey,
            "ADD #c :one",
            "#o = :me AND #c = :expected",
            new() { ["#o"] = OwnerAttribute, ["#c"] = CounterAttribute },
            new() { [":me"] = S(owner), [":one"] = N(1), [":expected"] = N(lease.Counter) },
            "UpdateItem (renew)",
            cancellationToken);
    }

    public Task<Lease?> TryCheckpointAsync(Lease lease, string checkpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var owner = OwnerOf(lease);
        Checkpoints.Validate(checkpoint, nameof(checkpoint));
        return UpdateAsync(
            lease.LeaseKey,
            "SET #cp = :cp, #sw = :zero ADD #c :one",
            "#o = :me",
            new() { ["#o"] = OwnerAttribute, ["#c"] = CounterAttribute, ["#cp"] = CheckpointAttribute, ["#sw"] = OwnerSwitchesAttribute },
            new() { [":me"] = S(owner), [":one"] = N(1), [":cp"] = S(checkpoint), [":zero"] = N(0) },
            "UpdateItem (checkpoint)",
            cancellationToken);
    }

    public async Task<bool> TryReleaseAsync(Lease lease, string? finalCheckpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var owner = OwnerOf(lease);
        var names = new Dictionary<string, string>(StringComparer.Ordinal) { ["#o"] = OwnerAttribute, ["#c"] = CounterAttribute };
        var values = new Dictionary<string, AttributeValue>(StringComparer.Ordinal) { [":me"] = S(owner), [":one"] = N(1) };
        var update = "REMOVE #o ADD #c :one";
        if (finalCheckpoint is not null)
        {
            Checkpoints.Validate(finalCheckpoint, nameof(finalCheckpoint));
            names["#cp"] = CheckpointAttribute;
            names["#sw"] = OwnerSwitchesAttribute;
            values[":cp"] = S(finalCheckpoint);
            values[":zero"] = N(0);
            update = "SET #cp = :cp, #sw = :zero REMOVE #o ADD #c :one";
        }

        return await UpdateAsync(lease.LeaseKey, update, "#o = :me", names, values, "UpdateItem (release)", cancellationToken).ConfigureAwait(false) is not null;
    }

    private async Task<Lease?> UpdateAsync(
        string leaseKey,
        string update,
        string condition,
        Dictionary<string, string> names,
        Dictionary<string, AttributeValue> values,
        string operation,
        CancellationToken cancellationToken)
    {
        ValidateShardId(leaseKey, nameof(leaseKey));
        var request = new UpdateItemRequest
        {
            TableName = _table,
            Key = new(StringComparer.Ordinal) { [KeyAttribute] = S(leaseKey) },
            UpdateExpression = update,

            // attribute_exists keeps a write on a deleted lease from creating a half item.
            ConditionExpression = $"attribute_exists(#k) AND ({condition})",
            ExpressionAttributeNames = new(names, StringComparer.Ordinal) { ["#k"] = KeyAttribute },
            ExpressionAttributeValues = values,
            ReturnValues = ReturnValue.ALL_NEW,
        };
        var response = await ConditionalAsync(c => _client.UpdateItemAsync(request, c), operation, leaseKey, cancellationToken).ConfigureAwait(false);
        return response is null ? null : ToLease(response.Attributes);
    }

    private Lease ToLease(Dictionary<string, AttributeValue> item)
    {
        string? Str(string name) => item.TryGetValue(name, out var v) ? v.S : null;
        var key = Str(KeyAttribute);
        var checkpoint = Str(CheckpointAttribute);
        if (key is null || checkpoint is null
            || !item.TryGetValue(CounterAttribute, out var counter) || !long.TryParse(counter.N, NumberStyles.Integer, CultureInfo.InvariantCulture, out var count))
        {
            throw new LeaseRecordCorruptException($"An item of lease table '{_table}' lacks {KeyAttribute}, {CheckpointAttribute} or a numeric {CounterAttribute}: [{string.Join(", ", item.Keys)}].");
        }

        long switches = 0;
        if (item.TryGetValue(OwnerSwitchesAttribute, out var sw) && !long.TryParse(sw.N, NumberStyles.Integer, CultureInfo.InvariantCulture, out switches))
        {
            throw new LeaseRecordCorruptException($"The lease '{key}' in table '{_table}' has a non-numeric {OwnerSwitchesAttribute}.");
        }

        var parents = item.TryGetValue(ParentsAttribute, out var p) && p.SS is { Count: > 0 } set
            ? set.Order(StringComparer.Ordinal).ToArray()
            : [];
        return new Lease(key, Str(OwnerAttribute), count, checkpoint, parents, switches);
    }

    /// <summary>Runs a conditional write; null when its condition failed.</summary>
    private async Task<T?> ConditionalAsync<T>(Func<CancellationToken, Task<T>> call, string operation, string key, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            return await CallAsync(call, operation, key, cancellationToken).ConfigureAwait(false);
        }
        catch (ConditionalCheckFailedException)
        {
            return null;
        }
    }

    private async Task<T> CallAsync<T>(Func<CancellationToken, Task<T>> call, string operation, string key, CancellationToken cancellationToken)
    {
        try
        {
            return await call(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not ConditionalCheckFailedException && Translate(e, operation, key, cancellationToken) is { } translated)
        {
            throw translated;
        }
    }

    private Exception? Translate(Exception e, string operation, string key, CancellationToken cancellationToken)
    {
        var where = $"{operation} on '{key}' in lease table '{_table}'";
        return e switch
        {
            OperationCanceledException when cancellationToken.IsCancellationRequested => null,
            ResourceNotFoundException => new LeaseTableMissingException(_table, e),
            ProvisionedThroughputExceededException or RequestLimitExceededException or InternalServerErrorException
                or AmazonServiceException { ErrorCode: "ThrottlingException" or "ServiceUnavailable" }
                or AmazonServiceException { StatusCode: >= HttpStatusCode.InternalServerError } =>
                new LeaseStoreUnavailableException($"{where} failed after the SDK's retries: {e.Message}", e),
            AmazonServiceException => new LeaseStoreRequestException($"{where} was refused: {e.Message}", e),
            AmazonClientException or HttpRequestException or IOException or OperationCanceledException =>
                new LeaseStoreUnavailableException($"{where} failed after the SDK's retries: {e.Message}", e),
            _ => null,
        };
    }

    private static string OwnerOf(Lease lease) =>
        lease.Owner ?? throw new ArgumentException($"The lease '{lease.LeaseKey}' has no owner; only a held lease can be renewed, checkpointed or released.", nameof(lease));

    private static void ValidateShardId(string? shardId, string parameterName)
    {
        if (string.IsNullOrEmpty(shardId) || shardId.Length > 256)
        {
            throw new ArgumentException($"A shard id must be 1 to 256 characters, got '{shardId}'.", parameterName);
        }
    }

    internal static void ValidateOwner(string? owner, string parameterName)
    {
        if (string.IsNullOrWhiteSpace(owner) || owner.Length > 256)
        {
            throw new ArgumentException($"A lease owner (worker id) must be 1 to 256 characters and not blank, got '{owner}'.", parameterName);
        }
    }

    private static AttributeValue S(string value) => new() { S = value };

    private static AttributeValue N(long value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };
}
