using Pipeline.Core.Invocation;

namespace Pipeline.Testing.Mappings;

/// <summary>Invoker options with short periods so a mapping test on a real server runs in seconds.</summary>
public static class TestInvokers
{
    /// <summary>No in-process retries, backoff that rounds up to SQS's 1 s, heartbeat every 300 ms, 3 s claims.</summary>
    public static InvokerOptions Fast { get; } = InvokerOptions.Default with
    {
        RetryAttempts = 0,
        RetryBaseDelay = TimeSpan.FromMilliseconds(1),
        RetryMaxDelay = TimeSpan.FromMilliseconds(5),
        SourceBackoffBase = TimeSpan.FromMilliseconds(1),
        SourceBackoffMax = TimeSpan.FromMilliseconds(2),
        HeartbeatInterval = TimeSpan.FromMilliseconds(300),
        ClaimLease = TimeSpan.FromSeconds(3),
    };
}
