namespace Pipeline.Aws.DynamoDb;

/// <summary>
/// Settings of the <see cref="DynamoDbIdempotencyStore"/>; immutable, checked by <see cref="Validate"/>.
/// </summary>
/// <remarks>
/// Retention: every record carries the TTL attribute <c>expiration</c> (epoch seconds), after which DynamoDB's TTL
/// deletes it, usually within a few days. The store treats a record whose <c>expiration</c> has passed as already gone,
/// so the outcome never depends on when the sweeper comes. A completed record is kept <see cref="CompletedRetention"/>
/// (duplicates arriving within it are skipped; after it the job would run again). A permanent failure is kept
/// <see cref="FailedRetention"/>, which should outlive the queue's message retention so redeliveries keep failing
/// fast. A claim in progress expires at its lease; its record is kept <see cref="CompletedRetention"/> past that
/// lease, so a claim abandoned by a crashed host is cleaned up too.
/// </remarks>
public sealed record DynamoDbIdempotencyStoreOptions
{
    /// <summary>The default table name.</summary>
    public const string DefaultTableName = "bgpipe-idempotency";

    /// <summary>The longest retention accepted: ten years.</summary>
    public static readonly TimeSpan MaxRetention = TimeSpan.FromDays(3650);

    /// <summary>The most items DynamoDB accepts in one TransactWriteItems call.</summary>
    public const int MaxTransactionItems = 100;

    /// <summary>The table; default <see cref="DefaultTableName"/>. 3 to 255 characters of a-z, A-Z, 0-9, '_', '-', '.'.</summary>
    public string TableName { get; init; } = DefaultTableName;

    /// <summary>How long a COMPLETED record (and an abandoned claim, past its lease) is kept; default 7 days.</summary>
    public TimeSpan CompletedRetention { get; init; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How long a FAILED_PERMANENT record is kept; default 14 days, SQS's longest message retention, so a message
    /// cannot outlive the record that makes it fail fast.
    /// </summary>
    public TimeSpan FailedRetention { get; init; } = TimeSpan.FromDays(14);

    /// <summary>The most DynamoDB requests one store instance has in flight at once, over all its callers; default 16.</summary>
    public int MaxParallelRequests { get; init; } = 16;

    /// <summary>
    /// Claims a batch with TransactWriteItems (up to <see cref="TransactionItems"/> keys a call) instead of one
    /// PutItem per key; default false. A transaction fails as a whole when any key is taken, and the store then
    /// claims the keys the transaction did not report as blocked one by one. Needs TransactWriteItems (AWS, moto;
    /// not dynalite), and costs twice the write capacity of single puts.
    /// </summary>
    public bool UseTransactions { get; init; }

    /// <summary>Keys per transaction when <see cref="UseTransactions"/> is on; 1 to 100, default 100.</summary>
    public int TransactionItems { get; init; } = MaxTransactionItems;

    /// <summary>Returns these options, or throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public DynamoDbIdempotencyStoreOptions Validate()
    {
        IdempotencyTableSchema.ValidateTableName(TableName, nameof(TableName));
        CheckRetention(CompletedRetention, nameof(CompletedRetention));
        CheckRetention(FailedRetention, nameof(FailedRetention));
        if (MaxParallelRequests is < 1 or > 1024)
        {
            throw new ArgumentException($"{nameof(MaxParallelRequests)} must be 1 to 1024, got {MaxParallelRequests}.", nameof(MaxParallelRequests));
        }

        if (TransactionItems is < 1 or > MaxTransactionItems)
        {
            throw new ArgumentException($"{nameof(TransactionItems)} must be 1 to {MaxTransactionItems} (DynamoDB's limit), got {TransactionItems}.", nameof(TransactionItems));
        }

        return this;
    }

    private static void CheckRetention(TimeSpan retention, string name)
    {
        // Below a second the epoch-seconds TTL attribute cannot express it.
        if (retention < TimeSpan.FromSeconds(1) || retention > MaxRetention)
        {
            throw new ArgumentException($"{name} must be 1 second to {MaxRetention.TotalDays:0} days, got {retention}.", name);
        }
    }
}
