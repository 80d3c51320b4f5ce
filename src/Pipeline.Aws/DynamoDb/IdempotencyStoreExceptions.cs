namespace Pipeline.Aws.DynamoDb;

/// <summary>The idempotency table does not exist (or is not visible to these credentials and region).</summary>
public sealed class IdempotencyTableMissingException : Exception
{
    public IdempotencyTableMissingException(string tableName, Exception inner)
        : base($"The idempotency table '{tableName}' does not exist; create it with `bgpipe provision` or IdempotencyTableSchema.EnsureTableAsync.", inner)
    {
        TableName = tableName;
    }

    public IdempotencyTableMissingException() { }

    public IdempotencyTableMissingException(string message) : base(message) { }

    public string? TableName { get; }
}

/// <summary>
/// DynamoDB stayed unavailable (throttling, a 5xx, a network failure) after the SDK's own retries; the call may be
/// repeated later. Whether a write took effect is unknown.
/// </summary>
public sealed class IdempotencyStoreUnavailableException : Exception
{
    public IdempotencyStoreUnavailableException(string message, Exception inner) : base(message, inner) { }

    public IdempotencyStoreUnavailableException() { }

    public IdempotencyStoreUnavailableException(string message) : base(message) { }
}

/// <summary>DynamoDB refused a request for good (validation, access denied, an unsupported operation).</summary>
public sealed class IdempotencyStoreRequestException : Exception
{
    public IdempotencyStoreRequestException(string message, Exception inner) : base(message, inner) { }

    public IdempotencyStoreRequestException() { }

    public IdempotencyStoreRequestException(string message) : base(message) { }
}

/// <summary>An item in the table is not an idempotency record this store can read (another writer, a bad edit).</summary>
public sealed class IdempotencyRecordCorruptException : Exception
{
    public IdempotencyRecordCorruptException(string message) : base(message) { }

    public IdempotencyRecordCorruptException() { }

    public IdempotencyRecordCorruptException(string message, Exception inner) : base(message, inner) { }
}
