namespace Pipeline.Aws.Mappings;

/// <summary>
/// The <c>Function:</c> section: settings of the function the mappings invoke, with SAM's names where SAM has one
/// (Timeout, MemorySize, ReservedConcurrentExecutions) and the local host's own otherwise.
/// </summary>
public sealed class FunctionDefinition
{
    /// <summary>Default function timeout in seconds: the template's FunctionTimeoutSeconds default.</summary>
    public const int DefaultTimeoutSeconds = 60;

    /// <summary>Lambda's largest timeout (15 minutes).</summary>
    public const int MaxTimeoutSeconds = 900;

    /// <summary>Default idempotency table name, before the provision prefix.</summary>
    public const string DefaultIdempotencyTable = "idempotency";

    internal FunctionDefinition(int timeoutSeconds, int? memorySize, int? reservedConcurrentExecutions, IReadOnlyList<string> buckets, string? outputPrefix, string idempotencyTable)
    {
        TimeoutSeconds = timeoutSeconds;
        MemorySize = memorySize;
        ReservedConcurrentExecutions = reservedConcurrentExecutions;
        Buckets = buckets;
        OutputPrefix = outputPrefix;
        IdempotencyTable = idempotencyTable;
    }

    public static FunctionDefinition Default { get; } = new(DefaultTimeoutSeconds, null, null, [], null, DefaultIdempotencyTable);

    /// <summary><c>Timeout</c>: seconds one invocation may run, 1–900 (default 60). The jobs queue's visibility timeout is 6 x this.</summary>
    public int TimeoutSeconds { get; }

    public TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSeconds);

    /// <summary><c>MemorySize</c> in MB, 128–10,240; informational locally, used by the SAM template.</summary>
    public int? MemorySize { get; }

    /// <summary><c>ReservedConcurrentExecutions</c>, 1–1,000: a cap on concurrent invocations over all mappings of this file.</summary>
    public int? ReservedConcurrentExecutions { get; }

    /// <summary><c>Buckets</c>: the S3 buckets jobs may read from and write to (an allow-list); provision creates them.</summary>
    public IReadOnlyList<string> Buckets { get; }

    /// <summary><c>OutputPrefix</c>: key prefix for results when a job names no destination.</summary>
    public string? OutputPrefix { get; }

    /// <summary><c>IdempotencyTable</c>: the DynamoDB table name before the provision prefix (default <c>idempotency</c>).</summary>
    public string IdempotencyTable { get; }
}
