using System.Net;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Core.Idempotency;
using static Pipeline.Aws.DynamoDb.IdempotencyItem;

namespace Pipeline.Aws.DynamoDb;

/// <summary>
/// The <see cref="IIdempotencyStore"/> on a DynamoDB table (see <see cref="IdempotencyTableSchema"/>), for hosts on
/// several machines and for Lambda. Same contract as the SQLite store: a claim is one conditional PutItem, a finish an
/// UpdateItem (complete, fail) or DeleteItem (release) conditional on the owner, renewal and takeover conditional
/// UpdateItems.
/// </summary>
/// <remarks>
/// <para>
/// The claim condition is Powertools' (<c>attribute_not_exists(id) OR expiration &lt; :now OR (in_progress_expiration
/// &lt; :now_ms AND status = INPROGRESS)</c>) adapted to our rules: a FAILED_PERMANENT record of another message id is
/// claimable, one of the same message id is not (fail fast), a live claim blocks even its owner, and the lease is
/// compared in milliseconds. A refused put returns the blocking item (ReturnValuesOnConditionCheckFailure=ALL_OLD);
/// where the endpoint returns none (dynalite), a consistent GetItem reads it, and a record found claimable or gone by
/// then is claimed again.
/// </para>
/// <para>
/// A batch is claimed, finished or renewed with one request per key, concurrently, at most
/// <see cref="DynamoDbIdempotencyStoreOptions.MaxParallelRequests"/> in flight per instance. With
/// <see cref="DynamoDbIdempotencyStoreOptions.UseTransactions"/> a claim batch goes in TransactWriteItems calls
/// instead; a cancelled transaction reports, per key, whether its condition failed (with the old item), and the keys
/// it did not settle are claimed one by one.
/// </para>
/// <para>
/// Transient failures (throttling, 5xx, network) are retried by the SDK client as it is configured; what is left
/// surfaces as <see cref="IdempotencyStoreUnavailableException"/>. The store does not own the client.
/// </para>
/// </remarks>
public sealed partial class DynamoDbIdempotencyStore : IIdempotencyStore, IJobRecordLookup
{
    /// <summary>DynamoDB's limit on a partition key value.</summary>
    public const int MaxKeyBytes = 2048;

    /// <summary>
    /// How often a refused claim whose blocker vanished or expired before it was read (only without ALL_OLD) is retried.
    /// Each retry follows a change by another writer, so running out means heavy contention, not a stuck store.
    /// </summary>
    private const int MaxClaimAttempts = 8;

    private const string ClaimCondition =
        "attribute_not_exists(#id) OR #exp < :now_s OR (#st = :in_progress AND #ipx < :now_ms) OR (#st = :failed AND #msg <> :msg)";

    private const string HeldCondition = "#st = :in_progress AND #ow = :owner";

    private static readonly AttributeValue InProgressValue = S(InProgress);
    private static readonly AttributeValue CompletedValue = S(Completed);
    private static readonly AttributeValue FailedValue = S(FailedPermanent);

    private readonly IAmazonDynamoDB _client;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _inFlight;
    private readonly string _table;
    private readonly long _completedRetentionS;
    private readonly long _failedRetentionS;
    private long _putItems;
    private long _transactions;
    private long _transactionFallbacks;

    public DynamoDbIdempotencyStore(IAmazonDynamoDB client, DynamoDbIdempotencyStoreOptions options, ILogger<DynamoDbIdempotencyStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Validate();
        _client = client;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _inFlight = new SemaphoreSlim(options.MaxParallelRequests, options.MaxParallelRequests);
        _table = options.TableName;
        _completedRetentionS = (long)Math.Ceiling(options.CompletedRetention.TotalSeconds);
        _failedRetentionS = (long)Math.Ceiling(options.FailedRetention.TotalSeconds);
    }

    public DynamoDbIdempotencyStoreOptions Options { get; }

    /// <summary>PutItem claims sent so far (including retries after a vanished blocker and transaction fallbacks).</summary>
    internal long PutItemClaims => Interlocked.Read(ref _putItems);

    /// <summary>TransactWriteItems calls sent so far.</summary>
    internal long Transactions => Interlocked.Read(ref _transactions);

    /// <summary>Keys a cancelled transaction left unsettled, then claimed one by one.</summary>
    internal long TransactionFallbacks => Interlocked.Read(ref _transactionFallbacks);

    public async ValueTask<IReadOnlyList<ClaimOutcome>> TryClaimAsync(IReadOnlyList<ClaimRequest> requests, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ValidateClaims(requests);
        cancellationToken.ThrowIfCancellationRequested();
        if (requests.Count == 0)
        {
            return Array.Empty<ClaimOutcome>();
        }

        var nowMs = now.ToUnixTimeMilliseconds();
        var outcomes = new ClaimOutcome?[requests.Count];
        if (Options.UseTransactions && requests.Count > 1)
        {
            for (var first = 0; first < requests.Count; first += Options.TransactionItems)
            {
                await ClaimInTransactionAsync(requests, first, Math.Min(Options.TransactionItems, requests.Count - first), nowMs, outcomes, cancellationToken).ConfigureAwait(false);
            }
        }

        await ForEachAsync(
            requests.Count,
            async (i, ct) =>
            {
                if (outcomes[i] is null)
                {
                    outcomes[i] = await ClaimOneAsync(requests[i], nowMs, ct).ConfigureAwait(false);
                }
            },
            cancellationToken).ConfigureAwait(false);

        return outcomes!;
    }

    public async ValueTask<bool> TryTakeOverAsync(ClaimRequest request, string previousOwner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(previousOwner);
        ValidateClaim(request, nameof(request));
        var expiryMs = request.Expiry.ToUnixTimeMilliseconds();
        var update = new UpdateItemRequest
        {
            TableName = _table,
            Key = IdempotencyItem.Key(request.Key),
            UpdateExpression = "SET #ow = :owner, #ipx = :ipx, #msg = :msg, #exp = :exp",
            ConditionExpression = "#st = :in_progress AND #ow = :previous",
            ExpressionAttributeNames = Names("#ow", "#ipx", "#msg", "#exp", "#st"),
            ExpressionAttributeValues = new(StringComparer.Ordinal)
            {
                [":owner"] = S(request.Owner),
                [":ipx"] = N(expiryMs),
                [":msg"] = S(request.MessageId),
                [":exp"] = N(ToEpochSecondsCeiling(expiryMs) + _completedRetentionS),
                [":in_progress"] = InProgressValue,
                [":previous"] = S(previousOwner),
            },
        };
        return await ConditionalAsync(c => _client.UpdateItemAsync(update, c), "UpdateItem (take over)", request.Key, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<int> RenewAsync(IReadOnlyList<string> keys, string owner, DateTimeOffset expiry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(owner);
        for (var i = 0; i < keys.Count; i++)
        {
            ValidateKey(keys[i], nameof(keys));
        }

        var expiryMs = expiry.ToUnixTimeMilliseconds();
        var renewed = 0;
        await ForEachAsync(
            keys.Count,
            async (i, ct) =>
            {
                var update = new UpdateItemRequest
                {
                    TableName = _table,
                    Key = IdempotencyItem.Key(keys[i]),
                    UpdateExpression = "SET #ipx = :ipx, #exp = :exp",
                    ConditionExpression = HeldCondition,
                    ExpressionAttributeNames = Names("#ipx", "#exp", "#st", "#ow"),
                    ExpressionAttributeValues = new(StringComparer.Ordinal)
                    {
                        [":ipx"] = N(expiryMs),
                        [":exp"] = N(ToEpochSecondsCeiling(expiryMs) + _completedRetentionS),
                        [":in_progress"] = InProgressValue,
                        [":owner"] = S(owner),
                    },
                };
                if (await ConditionalAsync(c => _client.UpdateItemAsync(update, c), "UpdateItem (renew)", keys[i], ct).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref renewed);
                }
            },
            cancellationToken).ConfigureAwait(false);
        return renewed;
    }

    public async ValueTask FinishAsync(IReadOnlyList<ClaimFinish> finishes, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(finishes);

        // Everything is checked before the first write: there is no rollback across several requests.
        for (var i = 0; i < finishes.Count; i++)
        {
            var finish = finishes[i];
            ArgumentNullException.ThrowIfNull(finish, nameof(finishes));
            if (finish.Kind is not (FinishKind.Complete or FinishKind.FailPermanently or FinishKind.Release))
            {
                throw new ArgumentOutOfRangeException(nameof(finishes), finish.Kind, "Unknown finish kind.");
            }

            ValidateKey(finish.Key, nameof(finishes));
            if (finish.Owner is null)
            {
                throw new ArgumentException($"The finish of '{finish.Key}' lacks its owner.", nameof(finishes));
            }
        }

        var nowMs = now.ToUnixTimeMilliseconds();
        var nowS = ToEpochSecondsCeiling(nowMs);
        await ForEachAsync(
            finishes.Count,
            async (i, ct) =>
            {
                var finish = finishes[i];

                // A finish whose owner lost the claim (expired and taken, or never held) changes nothing: their work wins.
                switch (finish.Kind)
                {
                    case FinishKind.Complete:
                        await ConditionalAsync(
                            c => _client.UpdateItemAsync(EndRequest(finish, CompletedValue, "#res", finish.ResultLocation, "#rsn", nowMs, nowS + _completedRetentionS), c),
                            "UpdateItem (complete)",
                            finish.Key,
                            ct).ConfigureAwait(false);
                        break;
                    case FinishKind.FailPermanently:
                        // message_id stays: it is what tells a redelivery (fail fast) from a redrive (start fresh).
                        await ConditionalAsync(
                            c => _client.UpdateItemAsync(EndRequest(finish, FailedValue, "#rsn", finish.FailureReason, "#res", nowMs, nowS + _failedRetentionS), c),
                            "UpdateItem (fail)",
                            finish.Key,
                            ct).ConfigureAwait(false);
                        break;
                    default:
                        var delete = new DeleteItemRequest
                        {
                            TableName = _table,
                            Key = IdempotencyItem.Key(finish.Key),
                            ConditionExpression = HeldCondition,
                            ExpressionAttributeNames = Names("#st", "#ow"),
                            ExpressionAttributeValues = new(StringComparer.Ordinal) { [":in_progress"] = InProgressValue, [":owner"] = S(finish.Owner) },
                        };
                        await ConditionalAsync(c => _client.DeleteItemAsync(delete, c), "DeleteItem (release)", finish.Key, ct).ConfigureAwait(false);
                        break;
                }
            },
            cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IdempotencyRecord?> GetAsync(string key, CancellationToken cancellationToken)
    {
        ValidateKey(key, nameof(key));
        var item = await GetItemAsync(key, cancellationToken).ConfigureAwait(false);
        return item is null ? null : ToRecord(item, _table);
    }

    public async ValueTask<bool> ClearFailureAsync(string key, CancellationToken cancellationToken)
    {
        ValidateKey(key, nameof(key));
        var delete = new DeleteItemRequest
        {
            TableName = _table,
            Key = IdempotencyItem.Key(key),
            ConditionExpression = "#st = :failed",
            ExpressionAttributeNames = Names("#st"),
            ExpressionAttributeValues = new(StringComparer.Ordinal) { [":failed"] = FailedValue },
        };
        return await ConditionalAsync(c => _client.DeleteItemAsync(delete, c), "DeleteItem (clear failure)", key, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Queries <see cref="IdempotencyTableSchema.JobKeyIndex"/> (eventually consistent, as every index read is: a
    /// change made a moment ago may not show yet). A table without the index is scanned, with a warning.
    /// </summary>
    public async ValueTask<IReadOnlyList<IdempotencyRecord>> FindByJobKeyAsync(string jobKey, CancellationToken cancellationToken)
    {
        ValidateJobKey(jobKey, nameof(jobKey));
        var found = new List<IdempotencyRecord>();
        Dictionary<string, AttributeValue>? start = null;
        var scan = false;
        while (true)
        {
            List<Dictionary<string, AttributeValue>> items;
            if (!scan)
            {
                var query = new QueryRequest
                {
                    TableName = _table,
                    IndexName = IdempotencyTableSchema.JobKeyIndex,
                    KeyConditionExpression = "#jk = :jk",
                    ExpressionAttributeNames = Names("#jk"),
                    ExpressionAttributeValues = new(StringComparer.Ordinal) { [":jk"] = S(jobKey) },
                    ExclusiveStartKey = start,
                };
                try
                {
                    var page = await CallAsync(c => _client.QueryAsync(query, c), "Query (job key index)", jobKey, cancellationToken).ConfigureAwait(false);
                    items = page.Items ?? [];
                    start = page.LastEvaluatedKey is { Count: > 0 } next ? next : null;
                }
                catch (Exception e) when (e is IdempotencyStoreRequestException or IdempotencyTableMissingException && IsMissingIndex(e.InnerException))
                {
                    LogNoJobKeyIndex(_logger, _table, IdempotencyTableSchema.JobKeyIndex);
                    scan = true;
                    start = null;
                    found.Clear();
                    continue;
                }
            }
            else
            {
                var request = new ScanRequest
                {
                    TableName = _table,
                    FilterExpression = "#jk = :jk",
                    ExpressionAttributeNames = Names("#jk"),
                    ExpressionAttributeValues = new(StringComparer.Ordinal) { [":jk"] = S(jobKey) },
                    ConsistentRead = true,
                    ExclusiveStartKey = start,
                };
                var page = await CallAsync(c => _client.ScanAsync(request, c), "Scan (job key)", jobKey, cancellationToken).ConfigureAwait(false);
                items = page.Items ?? [];
                start = page.LastEvaluatedKey is { Count: > 0 } next ? next : null;
            }

            foreach (var item in items)
            {
                found.Add(ToRecord(item, _table));
            }

            if (start is null)
            {
                return JobRecordOrder.NewestFirst(found);
            }
        }
    }

    // AWS and dynalite answer ValidationException ("does not have the specified index"); moto ResourceNotFound ("Invalid index").
    private static bool IsMissingIndex(Exception? e) =>
        e is AmazonDynamoDBException { ErrorCode: "ValidationException" or "ResourceNotFoundException" } dynamo
        && dynamo.Message.Contains("index", StringComparison.OrdinalIgnoreCase);

    private static void ValidateJobKey(string? jobKey, string parameterName)
    {
        if (string.IsNullOrEmpty(jobKey))
        {
            throw new ArgumentException("A job key is null or empty.", parameterName);
        }

        if (System.Text.Encoding.UTF8.GetByteCount(jobKey) > MaxKeyBytes)
        {
            throw new ArgumentException($"The job key '{jobKey[..40]}...' is longer than DynamoDB's {MaxKeyBytes} bytes for an index key.", parameterName);
        }
    }

    private static void ValidateClaims(IReadOnlyList<ClaimRequest> requests)
    {
        HashSet<string>? seen = requests.Count > 1 ? new HashSet<string>(requests.Count, StringComparer.Ordinal) : null;
        for (var i = 0; i < requests.Count; i++)
        {
            ValidateClaim(requests[i], nameof(requests));
            if (seen is not null && !seen.Add(requests[i].Key))
            {
                throw new ArgumentException($"The claim requests must have distinct keys; '{requests[i].Key}' appears twice.", nameof(requests));
            }
        }
    }

    private static void ValidateClaim(ClaimRequest? request, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(request, parameterName);
        ValidateKey(request.Key, parameterName);
        if (request.Owner is null || request.MessageId is null)
        {
            throw new ArgumentException($"The claim request for '{request.Key}' lacks its owner or message id.", parameterName);
        }

        if (request.JobKey is not null)
        {
            ValidateJobKey(request.JobKey, parameterName);
        }
    }

    private static void ValidateKey(string? key, string parameterName)
    {
        if (string.IsNullOrEmpty(key))
        {
            throw new ArgumentException("An idempotency key is null or empty; DynamoDB needs a non-empty partition key.", parameterName);
        }

        if (System.Text.Encoding.UTF8.GetByteCount(key) > MaxKeyBytes)
        {
            throw new ArgumentException($"The idempotency key '{key[..40]}...' is longer than DynamoDB's {MaxKeyBytes} bytes.", parameterName);
        }
    }

    private UpdateItemRequest EndRequest(ClaimFinish finish, AttributeValue status, string setName, string? setValue, string removeName, long nowMs, long expiration)
    {
        var names = Names("#st", "#exp", "#upd", "#ow", "#ipx", setName, removeName);
        var values = new Dictionary<string, AttributeValue>(StringComparer.Ordinal)
        {
            [":status"] = status,
            [":exp"] = N(expiration),
            [":now"] = N(nowMs),
            [":in_progress"] = InProgressValue,
            [":owner"] = S(finish.Owner),
        };
        string update;
        if (setValue is null)
        {
            update = $"SET #st = :status, #exp = :exp, #upd = :now REMOVE #ow, #ipx, {setName}, {removeName}";
        }
        else
        {
            values[":value"] = S(setValue);
            update = $"SET #st = :status, #exp = :exp, #upd = :now, {setName} = :value REMOVE #ow, #ipx, {removeName}";
        }

        return new UpdateItemRequest
        {
            TableName = _table,
            Key = IdempotencyItem.Key(finish.Key),
            UpdateExpression = update,
            ConditionExpression = HeldCondition,
            ExpressionAttributeNames = names,
            ExpressionAttributeValues = values,
        };
    }

    private Dictionary<string, AttributeValue> ClaimItem(ClaimRequest request, long nowMs, string token)
    {
        var expiryMs = request.Expiry.ToUnixTimeMilliseconds();
        var item = new Dictionary<string, AttributeValue>(StringComparer.Ordinal)
        {
            [Id] = S(request.Key),
            [Status] = InProgressValue,
            [Owner] = S(request.Owner),
            [LeaseExpiry] = N(expiryMs),
            [MessageId] = S(request.MessageId),
            [Expiration] = N(ToEpochSecondsCeiling(expiryMs) + _completedRetentionS),
            [UpdatedAt] = N(nowMs),
            [ClaimToken] = S(token),
        };
        if (request.JobKey is not null)
        {
            item[JobKey] = S(request.JobKey);
        }

        return item;
    }

    private static Dictionary<string, AttributeValue> ClaimValues(ClaimRequest request, long nowMs) => new(StringComparer.Ordinal)
    {
        [":now_s"] = N(nowMs / 1000),
        [":now_ms"] = N(nowMs),
        [":in_progress"] = InProgressValue,
        [":failed"] = FailedValue,
        [":msg"] = S(request.MessageId),
    };

    private async Task<ClaimOutcome> ClaimOneAsync(ClaimRequest request, long nowMs, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var token = Guid.NewGuid().ToString("N");
            var put = new PutItemRequest
            {
                TableName = _table,
                Item = ClaimItem(request, nowMs, token),
                ConditionExpression = ClaimCondition,
                ExpressionAttributeNames = Names("#id", "#exp", "#st", "#ipx", "#msg"),
                ExpressionAttributeValues = ClaimValues(request, nowMs),
                ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
            };

            Dictionary<string, AttributeValue>? blocker;
            try
            {
                Interlocked.Increment(ref _putItems);
                await CallAsync(c => _client.PutItemAsync(put, c), "PutItem (claim)", request.Key, cancellationToken).ConfigureAwait(false);
                return ClaimOutcome.Won;
            }
            catch (ConditionalCheckFailedException e)
            {
                blocker = e.Item is { Count: > 0 } old ? old : null;
            }

            if (blocker is null)
            {
                // No old item in the refusal: read what blocks now. If it has gone or become claimable meanwhile, the
                // refusal no longer says anything about the present, so claim again.
                blocker = await GetItemAsync(request.Key, cancellationToken).ConfigureAwait(false);
                if (blocker is null || CanClaim(blocker, nowMs, request.MessageId, _table))
                {
                    if (attempt >= MaxClaimAttempts)
                    {
                        throw new IdempotencyStoreUnavailableException(
                            $"Claiming '{request.Key}' in table '{_table}' failed {attempt} times against a record that kept changing.");
                    }

                    continue;
                }
            }

            // The SDK retried a put whose first attempt had landed: the record that blocks is this very claim.
            if (string.Equals(IdempotencyItem.String(blocker, ClaimToken), token, StringComparison.Ordinal))
            {
                return ClaimOutcome.Won;
            }

            return Blocked(ToRecord(blocker, _table));
        }
    }

    /// <summary>
    /// Claims <paramref name="count"/> keys in one TransactWriteItems; sets the outcomes it settles, leaving the rest
    /// (keys not reported as blocked) null for the single-put pass.
    /// </summary>
    private async Task ClaimInTransactionAsync(IReadOnlyList<ClaimRequest> requests, int first, int count, long nowMs, ClaimOutcome?[] outcomes, CancellationToken cancellationToken)
    {
        var items = new List<TransactWriteItem>(count);
        for (var i = first; i < first + count; i++)
        {
            items.Add(new TransactWriteItem
            {
                Put = new Put
                {
                    TableName = _table,
                    Item = ClaimItem(requests[i], nowMs, Guid.NewGuid().ToString("N")),
                    ConditionExpression = ClaimCondition,
                    ExpressionAttributeNames = Names("#id", "#exp", "#st", "#ipx", "#msg"),
                    ExpressionAttributeValues = ClaimValues(requests[i], nowMs),
                    ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
                },
            });
        }

        var transaction = new TransactWriteItemsRequest { TransactItems = items };
        try
        {
            Interlocked.Increment(ref _transactions);
            await CallAsync(c => _client.TransactWriteItemsAsync(transaction, c), "TransactWriteItems (claim)", requests[first].Key, cancellationToken).ConfigureAwait(false);
            for (var i = first; i < first + count; i++)
            {
                outcomes[i] = ClaimOutcome.Won;
            }
        }
        catch (TransactionCanceledException e)
        {
            // Nothing was written. A key whose own condition failed is settled by its old item (the transaction read it
            // atomically); every other key was blocked by nothing but the transaction and is claimed on its own.
            var reasons = e.CancellationReasons;
            var fallbacks = 0;
            for (var j = 0; j < count; j++)
            {
                var reason = reasons is not null && j < reasons.Count ? reasons[j] : null;
                if (reason?.Code == "ConditionalCheckFailed" && reason.Item is { Count: > 0 } old)
                {
                    outcomes[first + j] = Blocked(ToRecord(old, _table));
                }
                else
                {
                    fallbacks++;
                }
            }

            Interlocked.Add(ref _transactionFallbacks, fallbacks);
            LogTransactionCancelled(_logger, _table, count, fallbacks);
        }
    }

    private static ClaimOutcome Blocked(IdempotencyRecord existing) => existing.Status switch
    {
        IdempotencyStatus.Completed => new ClaimOutcome(ClaimStatus.AlreadyCompleted, existing),
        IdempotencyStatus.FailedPermanent => new ClaimOutcome(ClaimStatus.FailedPermanent, existing),
        _ => new ClaimOutcome(ClaimStatus.InProgressElsewhere, existing),
    };

    private async Task<Dictionary<string, AttributeValue>?> GetItemAsync(string key, CancellationToken cancellationToken)
    {
        var get = new GetItemRequest { TableName = _table, Key = IdempotencyItem.Key(key), ConsistentRead = true };
        var response = await CallAsync(c => _client.GetItemAsync(get, c), "GetItem", key, cancellationToken).ConfigureAwait(false);
        return response.Item is { Count: > 0 } item ? item : null;
    }

    /// <summary>Runs a conditional write; false when its condition failed.</summary>
    private async Task<bool> ConditionalAsync<T>(Func<CancellationToken, Task<T>> call, string operation, string key, CancellationToken cancellationToken)
    {
        try
        {
            await CallAsync(call, operation, key, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ConditionalCheckFailedException)
        {
            return false;
        }
    }

    /// <summary>
    /// One request, within the in-flight bound, with the SDK's final failures mapped to this store's exceptions. A
    /// failed condition and a cancelled transaction pass through: they are answers, not failures.
    /// </summary>
    private async Task<T> CallAsync<T>(Func<CancellationToken, Task<T>> call, string operation, string key, CancellationToken cancellationToken)
    {
        await _inFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await call(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not (ConditionalCheckFailedException or TransactionCanceledException) && Translate(e, operation, key, cancellationToken) is { } translated)
        {
            throw translated;
        }
        finally
        {
            _inFlight.Release();
        }
    }

    private Exception? Translate(Exception e, string operation, string key, CancellationToken cancellationToken)
    {
        var where = $"{operation} on '{key}' in idempotency table '{_table}'";
        return e switch
        {
            OperationCanceledException when cancellationToken.IsCancellationRequested => null,
            ResourceNotFoundException => new IdempotencyTableMissingException(_table, e),
            AmazonDynamoDBException { ErrorCode: "UnknownOperationException" } when operation.StartsWith("TransactWriteItems", StringComparison.Ordinal) =>
                new IdempotencyStoreRequestException($"{where} failed: the endpoint has no TransactWriteItems (dynalite?); turn UseTransactions off.", e),
            ProvisionedThroughputExceededException or RequestLimitExceededException or InternalServerErrorException
                or AmazonServiceException { ErrorCode: "ThrottlingException" or "ServiceUnavailable" or "TransactionConflictException" }
                or AmazonServiceException { StatusCode: >= HttpStatusCode.InternalServerError } =>
                new IdempotencyStoreUnavailableException($"{where} failed after the SDK's retries: {e.Message}", e),
            AmazonServiceException => new IdempotencyStoreRequestException($"{where} was refused: {e.Message}", e),

            // Network failures and client-side timeouts (an HttpClient timeout surfaces as a cancellation not ours).
            AmazonClientException or HttpRequestException or IOException or OperationCanceledException =>
                new IdempotencyStoreUnavailableException($"{where} failed after the SDK's retries: {e.Message}", e),
            _ => null,
        };
    }

    /// <summary>Runs <paramref name="body"/> for 0..count-1 with at most MaxParallelRequests workers; the first failure stops the rest.</summary>
    private async Task ForEachAsync(int count, Func<int, CancellationToken, Task> body, CancellationToken cancellationToken)
    {
        if (count == 0)
        {
            return;
        }

        if (count == 1)
        {
            await body(0, cancellationToken).ConfigureAwait(false);
            return;
        }

        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var next = -1;
        async Task WorkAsync()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                try
                {
                    await body(i, failed.Token).ConfigureAwait(false);
                }
                catch
                {
                    await failed.CancelAsync().ConfigureAwait(false);
                    throw;
                }
            }
        }

        var workers = new Task[Math.Min(count, Options.MaxParallelRequests)];
        for (var w = 0; w < workers.Length; w++)
        {
            workers[w] = WorkAsync();
        }

        try
        {
            await Task.WhenAll(workers).ConfigureAwait(false);
        }
        catch when (!cancellationToken.IsCancellationRequested)
        {
            // Report the failure that stopped the others, not the cancellations it caused.
            var first = workers.Select(w => w.Exception?.InnerException).FirstOrDefault(x => x is not null and not OperationCanceledException);
            if (first is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
            }

            throw;
        }
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Debug,
        Message = "A claim transaction of {Count} keys on {TableName} was cancelled; {Fallbacks} keys are claimed one by one")]
    private static partial void LogTransactionCancelled(ILogger logger, string tableName, int count, int fallbacks);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning,
        Message = "The idempotency table {TableName} has no index {IndexName}; finding a job's records scans the table (run `bgpipe provision` to add it)")]
    private static partial void LogNoJobKeyIndex(ILogger logger, string tableName, string indexName);
}
