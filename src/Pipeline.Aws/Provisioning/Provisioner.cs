using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Amazon.S3.Model;
using Amazon.SQS.Model;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Aws.Kinesis.Leases;

namespace Pipeline.Aws.Provisioning;

/// <summary>
/// Applies a <see cref="ResourceList"/> to an endpoint, safely on rerun: what is missing is created, what drifted is
/// set back (and reported), what matches is left alone. A dry run reads but never creates or updates.
/// </summary>
public sealed class Provisioner
{
    private readonly ProvisioningClients _clients;
    private readonly TimeProvider _time;
    private readonly TimeSpan _tableActiveTimeout;
    private readonly TimeSpan _tablePollInterval;

    public Provisioner(ProvisioningClients clients, TimeProvider? time = null, TimeSpan? tableActiveTimeout = null, TimeSpan? tablePollInterval = null)
    {
        ArgumentNullException.ThrowIfNull(clients);
        _clients = clients;
        _time = time ?? TimeProvider.System;
        _tableActiveTimeout = tableActiveTimeout ?? TimeSpan.FromMinutes(2);
        _tablePollInterval = tablePollInterval ?? TimeSpan.FromMilliseconds(500);
    }

    /// <summary>
    /// Applies every resource in order. Throws <see cref="EndpointUnreachableException"/> when the endpoint does not
    /// answer and <see cref="ProvisioningConflictException"/> for differences that must not be repaired automatically.
    /// </summary>
    public async Task<ProvisionReport> ApplyAsync(ResourceList resources, bool dryRun, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resources);
        var outcomes = new List<ResourceOutcome>();
        var warnings = new List<string>();
        try
        {
            (ResourceOutcome dlqOutcome, string? dlqArn) = await ApplyQueueAsync(resources.JobsDeadLetterQueue, null, dryRun, cancellationToken);
            outcomes.Add(dlqOutcome);
            (ResourceOutcome jobsOutcome, _) = await ApplyQueueAsync(resources.JobsQueue, dlqArn, dryRun, cancellationToken);
            outcomes.Add(jobsOutcome);
            outcomes.Add(await ApplyTableAsync(resources.IdempotencyTable, dryRun, warnings, cancellationToken));
            if (resources.Buckets.Count > 0)
            {
                HashSet<string> existing = await ListBucketsAsync(cancellationToken);
                foreach (BucketResource bucket in resources.Buckets)
                {
                    outcomes.Add(await ApplyBucketAsync(bucket, existing, dryRun, cancellationToken));
                }
            }

            if (resources.JobsStream is not null)
            {
                outcomes.Add(await ApplyStreamAsync(resources.JobsStream, dryRun, warnings, cancellationToken));
            }

            if (resources.StreamFailuresQueue is not null)
            {
                (ResourceOutcome failuresOutcome, _) = await ApplyQueueAsync(resources.StreamFailuresQueue, null, dryRun, cancellationToken);
                outcomes.Add(failuresOutcome);
            }

            if (resources.LeaseTable is not null)
            {
                outcomes.Add(await ApplyLeaseTableAsync(resources.LeaseTable, dryRun, cancellationToken));
            }
        }
        catch (Exception ex) when (IsUnreachable(ex, cancellationToken))
        {
            throw new EndpointUnreachableException($"cannot reach {_clients.EndpointName}: {Innermost(ex).Message}", ex);
        }

        return new ProvisionReport(outcomes, warnings);
    }

    private async Task<(ResourceOutcome Outcome, string? Arn)> ApplyQueueAsync(QueueResource queue, string? deadLetterArn, bool dryRun, CancellationToken ct)
    {
        string? url = await QueueUrlAsync(queue.Name, ct);
        if (url is null)
        {
            // In a dry run the dead-letter queue may be missing too, so its ARN is not known yet.
            IReadOnlyDictionary<string, string>? planned = queue.DeadLetterQueue is not null && deadLetterArn is null ? null : queue.Attributes(deadLetterArn);
            var described = planned?.Select(a => $"{a.Key}={a.Value}").ToList()
                ?? [.. queue.Attributes("<arn of " + queue.DeadLetterQueue!.Name + ">").Select(a => $"{a.Key}={a.Value}")];
            if (dryRun)
            {
                return (new ResourceOutcome(queue, ProvisionAction.WouldCreate, described), null);
            }

            string created = (await _clients.Sqs.CreateQueueAsync(new CreateQueueRequest { QueueName = queue.Name, Attributes = new Dictionary<string, string>(planned!) }, ct)).QueueUrl;
            string arn = (await AttributesAsync(created, ct)).GetValueOrDefault("QueueArn") ?? throw new InvalidOperationException($"{_clients.EndpointName} returned no QueueArn for {queue.Name}.");
            return (new ResourceOutcome(queue, ProvisionAction.Created, described), arn);
        }

        Dictionary<string, string> actual = await AttributesAsync(url, ct);
        string? ownArn = actual.GetValueOrDefault("QueueArn");
        bool actualFifo = string.Equals(actual.GetValueOrDefault("FifoQueue"), "true", StringComparison.OrdinalIgnoreCase);
        if (actualFifo != queue.Fifo)
        {
            throw new ProvisioningConflictException(
                $"{queue} exists as a {(actualFifo ? "FIFO" : "standard")} queue but must be {(queue.Fifo ? "FIFO" : "standard")}; SQS cannot change that, so delete it or pick another --prefix.");
        }

        // A dry run with the dead-letter queue still missing: predict its ARN from this queue's own.
        string? targetArn = deadLetterArn ?? (queue.DeadLetterQueue is not null && ownArn is not null ? ownArn[..(ownArn.LastIndexOf(':') + 1)] + queue.DeadLetterQueue.Name : null);
        IReadOnlyDictionary<string, string> desired = queue.Attributes(targetArn, includeCreateOnly: false);
        var changes = new List<string>();
        var update = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in desired)
        {
            string? current = actual.GetValueOrDefault(name);
            if (!SameAttribute(name, current, value))
            {
                changes.Add($"{name} {Show(current)} -> {value}");
                update[name] = value;
            }
        }

        if (update.Count == 0)
        {
            return (new ResourceOutcome(queue, ProvisionAction.Unchanged, []), ownArn);
        }

        if (dryRun)
        {
            return (new ResourceOutcome(queue, ProvisionAction.WouldUpdate, changes), ownArn);
        }

        await _clients.Sqs.SetQueueAttributesAsync(new SetQueueAttributesRequest { QueueUrl = url, Attributes = update }, ct);
        return (new ResourceOutcome(queue, ProvisionAction.Updated, changes), ownArn);
    }

    private async Task<string?> QueueUrlAsync(string name, CancellationToken ct)
    {
        try
        {
            return (await _clients.Sqs.GetQueueUrlAsync(new GetQueueUrlRequest { QueueName = name }, ct)).QueueUrl;
        }
        catch (QueueDoesNotExistException)
        {
            return null;
        }
        catch (AmazonServiceException ex) when (ex.ErrorCode is not null && ex.ErrorCode.Contains("NonExistentQueue", StringComparison.Ordinal))
        {
            return null;
        }
    }

    private async Task<Dictionary<string, string>> AttributesAsync(string url, CancellationToken ct)
    {
        GetQueueAttributesResponse response = await _clients.Sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = url, AttributeNames = ["All"] }, ct);
        return response.Attributes ?? [];
    }

    /// <summary>Compares as SQS means it: RedrivePolicy as JSON (numbers may come back as strings), booleans in any case.</summary>
    private static bool SameAttribute(string name, string? actual, string desired)
    {
        if (actual is null)
        {
            return false;
        }

        if (name == "RedrivePolicy")
        {
            return Redrive(actual) is { } a && Redrive(desired) is { } d && a == d;
        }

        return bool.TryParse(desired, out bool wanted)
            ? bool.TryParse(actual, out bool got) && got == wanted
            : string.Equals(actual.Trim(), desired, StringComparison.Ordinal);
    }

    private static (string Arn, string Count)? Redrive(string json)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(json);
            JsonElement root = doc.RootElement;
            if (!root.TryGetProperty("deadLetterTargetArn", out JsonElement arn) || !root.TryGetProperty("maxReceiveCount", out JsonElement count))
            {
                return null;
            }

            string countText = count.ValueKind == JsonValueKind.Number ? count.GetRawText() : count.GetString() ?? string.Empty;
            return (arn.GetString() ?? string.Empty, countText);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Show(string? value) => value is null ? "(unset)" : value;

    private async Task<ResourceOutcome> ApplyTableAsync(TableResource table, bool dryRun, List<string> warnings, CancellationToken ct)
    {
        TableDescription? description = await DescribeTableAsync(table.Name, ct);
        if (description is null)
        {
            List<string> planned =
            [
                $"key {table.PartitionKey} ({table.PartitionKeyType})",
                $"TTL {table.TimeToLiveAttribute}",
                table.BillingMode,
                "SSE",
                "point-in-time recovery",
            ];
            if (table.IndexName is not null)
            {
                planned.Insert(1, $"index {table.IndexName} on {table.IndexPartitionKey} (S)");
            }

            if (dryRun)
            {
                return new ResourceOutcome(table, ProvisionAction.WouldCreate, planned);
            }

            var create = new CreateTableRequest
            {
                TableName = table.Name,
                KeySchema = [new KeySchemaElement(table.PartitionKey, KeyType.HASH)],
                AttributeDefinitions = [new AttributeDefinition(table.PartitionKey, ScalarAttributeType.FindValue(table.PartitionKeyType))],
                BillingMode = BillingMode.FindValue(table.BillingMode),
                SSESpecification = new SSESpecification { Enabled = table.ServerSideEncryption },
            };
            if (table.IndexName is not null)
            {
                create.AttributeDefinitions.Add(new AttributeDefinition(table.IndexPartitionKey, ScalarAttributeType.S));
                create.GlobalSecondaryIndexes = [IndexDefinition(table)];
            }

            await _clients.DynamoDb.CreateTableAsync(create, ct);
            await WaitActiveAsync(table.Name, ct);
            await ApplyTableSettingsAsync(table, dryRun: false, warnings, ct);
            return new ResourceOutcome(table, ProvisionAction.Created, planned);
        }

        CheckKey(table, description);
        var changes = new List<string>();
        string billing = description.BillingModeSummary?.BillingMode?.Value ?? "PROVISIONED";
        if (billing != table.BillingMode)
        {
            changes.Add($"BillingMode {billing} -> {table.BillingMode}");
            if (!dryRun)
            {
                await _clients.DynamoDb.UpdateTableAsync(new UpdateTableRequest { TableName = table.Name, BillingMode = BillingMode.FindValue(table.BillingMode) }, ct);
                await WaitActiveAsync(table.Name, ct);
            }
        }

        if (table.IndexName is not null && description.GlobalSecondaryIndexes?.Any(i => i.IndexName == table.IndexName) != true)
        {
            changes.Add($"index {table.IndexName} on {table.IndexPartitionKey} added");
            if (!dryRun)
            {
                GlobalSecondaryIndex index = IndexDefinition(table);
                await _clients.DynamoDb.UpdateTableAsync(new UpdateTableRequest
                {
                    TableName = table.Name,
                    AttributeDefinitions = [new AttributeDefinition(table.IndexPartitionKey, ScalarAttributeType.S)],
                    GlobalSecondaryIndexUpdates = [new GlobalSecondaryIndexUpdate { Create = new CreateGlobalSecondaryIndexAction { IndexName = index.IndexName, KeySchema = index.KeySchema, Projection = index.Projection } }],
                }, ct);
                await WaitActiveAsync(table.Name, ct);
            }
        }

        changes.AddRange(await ApplyTableSettingsAsync(table, dryRun, warnings, ct));
        ProvisionAction action = changes.Count == 0 ? ProvisionAction.Unchanged : dryRun ? ProvisionAction.WouldUpdate : ProvisionAction.Updated;
        return new ResourceOutcome(table, action, changes);
    }

    private static GlobalSecondaryIndex IndexDefinition(TableResource table) => new()
    {
        IndexName = table.IndexName,
        KeySchema = [new KeySchemaElement(table.IndexPartitionKey, KeyType.HASH)],
        Projection = new Projection { ProjectionType = ProjectionType.ALL },
    };

    private static void CheckKey(TableResource table, TableDescription description)
    {
        var keys = description.KeySchema ?? [];
        string? type = description.AttributeDefinitions?.FirstOrDefault(a => a.AttributeName == table.PartitionKey)?.AttributeType?.Value;
        bool matches = keys.Count == 1 && keys[0].AttributeName == table.PartitionKey && keys[0].KeyType == KeyType.HASH && type == table.PartitionKeyType;
        if (!matches)
        {
            string actual = string.Join(", ", keys.Select(k => $"{k.AttributeName} {k.KeyType}"));
            throw new ProvisioningConflictException(
                $"{table} exists with key [{actual}] but must have partition key {table.PartitionKey} ({table.PartitionKeyType}) only; a table's key cannot change, so delete it or pick another --prefix.");
        }
    }

    /// <summary>TTL and point-in-time recovery; endpoints without those APIs (dynalite) get a warning, not a failure.</summary>
    private async Task<List<string>> ApplyTableSettingsAsync(TableResource table, bool dryRun, List<string> warnings, CancellationToken ct)
    {
        var changes = new List<string>();
        try
        {
            TimeToLiveDescription? ttl = (await _clients.DynamoDb.DescribeTimeToLiveAsync(new DescribeTimeToLiveRequest { TableName = table.Name }, ct)).TimeToLiveDescription;
            string status = ttl?.TimeToLiveStatus?.Value ?? "DISABLED";
            bool on = status is "ENABLED" or "ENABLING";
            if (on && ttl!.AttributeName != table.TimeToLiveAttribute)
            {
                throw new ProvisioningConflictException(
                    $"{table} has TTL on '{ttl.AttributeName}' but must have it on '{table.TimeToLiveAttribute}'; disable it by hand first (DynamoDB allows one TTL change per hour).");
            }

            if (!on)
            {
                if (!dryRun)
                {
                    await _clients.DynamoDb.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest
                    {
                        TableName = table.Name,
                        TimeToLiveSpecification = new TimeToLiveSpecification { AttributeName = table.TimeToLiveAttribute, Enabled = true },
                    }, ct);
                }

                // Recorded after the call: an endpoint that reads TTL but cannot set it (dynalite) changed nothing.
                changes.Add($"TTL {status.ToLowerInvariant()} -> {table.TimeToLiveAttribute}");
            }
        }
        catch (AmazonServiceException ex) when (IsUnsupported(ex))
        {
            warnings.Add($"{_clients.EndpointName} does not support the DynamoDB TTL API ({ex.ErrorCode}); {table} has no TTL on '{table.TimeToLiveAttribute}', so expired records stay until deleted.");
        }

        try
        {
            ContinuousBackupsDescription? backups = (await _clients.DynamoDb.DescribeContinuousBackupsAsync(new DescribeContinuousBackupsRequest { TableName = table.Name }, ct)).ContinuousBackupsDescription;
            string status = backups?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus?.Value ?? "DISABLED";
            if (table.PointInTimeRecovery && status != "ENABLED")
            {
                if (!dryRun)
                {
                    await _clients.DynamoDb.UpdateContinuousBackupsAsync(new UpdateContinuousBackupsRequest
                    {
                        TableName = table.Name,
                        PointInTimeRecoverySpecification = new PointInTimeRecoverySpecification { PointInTimeRecoveryEnabled = true },
                    }, ct);
                }

                changes.Add($"point-in-time recovery {status.ToLowerInvariant()} -> enabled");
            }
        }
        catch (AmazonServiceException ex) when (IsUnsupported(ex))
        {
            warnings.Add($"{_clients.EndpointName} does not support DynamoDB continuous backups ({ex.ErrorCode}); {table} has no point-in-time recovery.");
        }

        return changes;
    }

    private async Task<TableDescription?> DescribeTableAsync(string name, CancellationToken ct)
    {
        try
        {
            return (await _clients.DynamoDb.DescribeTableAsync(new DescribeTableRequest { TableName = name }, ct)).Table;
        }
        catch (Amazon.DynamoDBv2.Model.ResourceNotFoundException)
        {
            return null;
        }
    }

    private async Task WaitActiveAsync(string name, CancellationToken ct)
    {
        long started = _time.GetTimestamp();
        while (true)
        {
            TableDescription? description = await DescribeTableAsync(name, ct);
            if (description?.TableStatus == TableStatus.ACTIVE)
            {
                return;
            }

            if (_time.GetElapsedTime(started) > _tableActiveTimeout)
            {
                throw new TimeoutException($"DynamoDB table {name} on {_clients.EndpointName} was not ACTIVE after {_tableActiveTimeout.TotalSeconds:0} s (status {description?.TableStatus?.Value ?? "missing"}).");
            }

            await Task.Delay(_tablePollInterval, _time, ct);
        }
    }

    private IKinesisClient Kinesis => _clients.Kinesis
        ?? throw new InvalidOperationException($"The resource list has a Kinesis stream but the provisioning clients for {_clients.EndpointName} have no Kinesis client.");

    private async Task<ResourceOutcome> ApplyStreamAsync(StreamResource stream, bool dryRun, List<string> warnings, CancellationToken ct)
    {
        StreamDescriptionSummary? summary = await DescribeStreamAsync(stream.Name, ct);
        List<string> planned = [$"{stream.ShardCount} shard{(stream.ShardCount == 1 ? string.Empty : "s")}"];
        if (summary is null)
        {
            if (dryRun)
            {
                return new ResourceOutcome(stream, ProvisionAction.WouldCreate, planned);
            }

            try
            {
                await Kinesis.CreateStreamAsync(new CreateStreamRequest { StreamName = stream.Name, ShardCount = stream.ShardCount }, ct);
            }
            catch (KinesisResourceInUseException)
            {
                // Created meanwhile by someone else: wait for it like our own and compare below.
            }

            summary = await WaitStreamActiveAsync(stream.Name, ct);
            WarnOnShardCount(stream, summary, warnings);
            return new ResourceOutcome(stream, ProvisionAction.Created, planned);
        }

        WarnOnShardCount(stream, summary, warnings);
        return new ResourceOutcome(stream, ProvisionAction.Unchanged, []);
    }

    private static void WarnOnShardCount(StreamResource stream, StreamDescriptionSummary summary, List<string> warnings)
    {
        // Resharding moves records between shards and costs money; an operator decides that, not a rerun.
        if (summary.OpenShardCount != stream.ShardCount)
        {
            warnings.Add($"{stream} has {summary.OpenShardCount} open shards but the list asks for {stream.ShardCount}; provision does not reshard (use SplitShard/MergeShards or UpdateShardCount by hand).");
        }
    }

    private async Task<StreamDescriptionSummary?> DescribeStreamAsync(string name, CancellationToken ct)
    {
        try
        {
            return (await Kinesis.DescribeStreamSummaryAsync(new DescribeStreamSummaryRequest { StreamName = name }, ct)).StreamDescriptionSummary;
        }
        catch (KinesisResourceNotFoundException)
        {
            return null;
        }
    }

    private async Task<StreamDescriptionSummary> WaitStreamActiveAsync(string name, CancellationToken ct)
    {
        long started = _time.GetTimestamp();
        while (true)
        {
            StreamDescriptionSummary? summary = await DescribeStreamAsync(name, ct);
            if (summary?.StreamStatus == StreamStatus.Active)
            {
                return summary;
            }

            if (_time.GetElapsedTime(started) > _tableActiveTimeout)
            {
                throw new TimeoutException($"Kinesis stream {name} on {_clients.EndpointName} was not ACTIVE after {_tableActiveTimeout.TotalSeconds:0} s (status {summary?.StreamStatus.ToString() ?? "missing"}).");
            }

            await Task.Delay(_tablePollInterval, _time, ct);
        }
    }

    private async Task<ResourceOutcome> ApplyLeaseTableAsync(LeaseTableResource table, bool dryRun, CancellationToken ct)
    {
        List<string> planned = [$"key {table.PartitionKey} ({table.PartitionKeyType})", table.BillingMode, "SSE"];
        TableDescription? description = await DescribeTableAsync(table.Name, ct);
        if (description is null)
        {
            if (dryRun)
            {
                return new ResourceOutcome(table, ProvisionAction.WouldCreate, planned);
            }

            // The lease store's own schema, so provision and the consumer cannot disagree on the table.
            await LeaseTableSchema.EnsureTableAsync(_clients.DynamoDb, table.Name, _time, ct);
            return new ResourceOutcome(table, ProvisionAction.Created, planned);
        }

        var keys = description.KeySchema ?? [];
        if (keys.Count != 1 || keys[0].AttributeName != table.PartitionKey || keys[0].KeyType != KeyType.HASH)
        {
            throw new ProvisioningConflictException(
                $"{table} exists with key [{string.Join(", ", keys.Select(k => $"{k.AttributeName} {k.KeyType}"))}] but must have partition key {table.PartitionKey} ({table.PartitionKeyType}) only; a table's key cannot change, so delete it or pick another --prefix.");
        }

        return new ResourceOutcome(table, ProvisionAction.Unchanged, []);
    }

    private async Task<HashSet<string>> ListBucketsAsync(CancellationToken ct)
    {
        ListBucketsResponse response = await _clients.S3.ListBucketsAsync(new ListBucketsRequest(), ct);
        return (response.Buckets ?? []).Select(b => b.BucketName).ToHashSet(StringComparer.Ordinal);
    }

    private async Task<ResourceOutcome> ApplyBucketAsync(BucketResource bucket, HashSet<string> existing, bool dryRun, CancellationToken ct)
    {
        if (existing.Contains(bucket.Name))
        {
            return new ResourceOutcome(bucket, ProvisionAction.Unchanged, []);
        }

        if (dryRun)
        {
            return new ResourceOutcome(bucket, ProvisionAction.WouldCreate, []);
        }

        var request = new PutBucketRequest { BucketName = bucket.Name };
        if (_clients.Region is { } region && region != "us-east-1")
        {
            // Outside us-east-1, S3 (and moto) want the region as the location constraint.
            request.BucketRegionName = region;
        }

        await _clients.S3.PutBucketAsync(request, ct);
        return new ResourceOutcome(bucket, ProvisionAction.Created, []);
    }

    private static bool IsUnsupported(AmazonServiceException ex) =>
        ex.StatusCode is HttpStatusCode.NotImplemented
        || ex.ErrorCode is "UnknownOperationException" or "InvalidAction" or "UnsupportedOperation"
        || (ex.ErrorCode?.StartsWith("NotImplemented", StringComparison.Ordinal) ?? false); // "NotImplemented" and its "...Exception" form

    private static bool IsUnreachable(Exception ex, CancellationToken ct)
    {
        if (ct.IsCancellationRequested)
        {
            return false;
        }

        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException or SocketException || (e is TaskCanceledException && e.InnerException is TimeoutException))
            {
                return true;
            }
        }

        return false;
    }

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }

        return ex;
    }
}
