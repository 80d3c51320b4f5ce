namespace Pipeline.Aws.Kinesis.Leases;

/// <summary>The lease table does not exist (or is not visible to these credentials and region).</summary>
public sealed class LeaseTableMissingException : Exception
{
    public LeaseTableMissingException(string tableName, Exception inner)
        : base($"The lease table '{tableName}' does not exist; create it with LeaseTableSchema.EnsureTableAsync.", inner)
    {
        TableName = tableName;
    }

    public LeaseTableMissingException() { }

    public LeaseTableMissingException(string message) : base(message) { }

    public string? TableName { get; }
}

/// <summary>DynamoDB stayed unavailable (throttling, 5xx, network) after the SDK's retries; whether a write took effect is unknown.</summary>
public sealed class LeaseStoreUnavailableException : Exception
{
    public LeaseStoreUnavailableException(string message, Exception inner) : base(message, inner) { }

    public LeaseStoreUnavailableException() { }

    public LeaseStoreUnavailableException(string message) : base(message) { }
}

/// <summary>DynamoDB refused a lease request for good (validation, access denied).</summary>
public sealed class LeaseStoreRequestException : Exception
{
    public LeaseStoreRequestException(string message, Exception inner) : base(message, inner) { }

    public LeaseStoreRequestException() { }

    public LeaseStoreRequestException(string message) : base(message) { }
}

/// <summary>An item of the lease table is not a lease this store can read.</summary>
public sealed class LeaseRecordCorruptException : Exception
{
    public LeaseRecordCorruptException(string message) : base(message) { }

    public LeaseRecordCorruptException() { }

    public LeaseRecordCorruptException(string message, Exception inner) : base(message, inner) { }
}
