using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Pipeline.Aws.DynamoDb;

namespace Pipeline.Aws.Kinesis.Leases;

/// <summary>The KCL-style lease table: one item per shard, keyed by <see cref="KeyAttribute"/> (S).</summary>
public static class LeaseTableSchema
{
    /// <summary>The default table name.</summary>
    public const string DefaultTableName = "bgpipe-kinesis-leases";

    public const string KeyAttribute = "leaseKey";
    public const string OwnerAttribute = "leaseOwner";
    public const string CounterAttribute = "leaseCounter";
    public const string CheckpointAttribute = "checkpoint";
    public const string ParentsAttribute = "parentShardIds";
    public const string OwnerSwitchesAttribute = "ownerSwitchesSinceCheckpoint";

    /// <summary>The CreateTable request (PAY_PER_REQUEST, server-side encryption), for provisioning to reuse.</summary>
    public static CreateTableRequest CreateTableRequest(string tableName)
    {
        IdempotencyTableSchema.ValidateTableName(tableName, nameof(tableName));
        return new CreateTableRequest
        {
            TableName = tableName,
            KeySchema = [new KeySchemaElement(KeyAttribute, KeyType.HASH)],
            AttributeDefinitions = [new AttributeDefinition(KeyAttribute, ScalarAttributeType.S)],
            BillingMode = BillingMode.PAY_PER_REQUEST,
            SSESpecification = new SSESpecification { Enabled = true },
        };
    }

    /// <summary>Creates the table when missing and waits until it is ACTIVE; returns whether this call created it.</summary>
    public static async Task<bool> EnsureTableAsync(IAmazonDynamoDB client, string tableName, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var request = CreateTableRequest(tableName);
        var created = false;
        try
        {
            await client.CreateTableAsync(request, cancellationToken).ConfigureAwait(false);
            created = true;
        }
        catch (ResourceInUseException)
        {
            // Exists already (or another host is creating it): wait for ACTIVE below.
        }

        var deadline = timeProvider.GetUtcNow() + TimeSpan.FromMinutes(2);
        while (true)
        {
            var table = (await client.DescribeTableAsync(tableName, cancellationToken).ConfigureAwait(false)).Table;
            if (table.TableStatus == TableStatus.ACTIVE)
            {
                var keys = table.KeySchema ?? [];
                if (keys.Count != 1 || keys[0].AttributeName != KeyAttribute)
                {
                    throw new LeaseStoreRequestException($"The lease table '{tableName}' exists with another key; the store needs one partition key '{KeyAttribute}' of type S.");
                }

                return created;
            }

            if (timeProvider.GetUtcNow() > deadline)
            {
                throw new LeaseStoreUnavailableException($"The lease table '{tableName}' did not become ACTIVE in time (last status {table.TableStatus}).");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }
}
