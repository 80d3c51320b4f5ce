namespace Pipeline.Lambda.Runtime;

/// <summary>
/// One invocation as <c>GET /2018-06-01/runtime/invocation/next</c> returned it: the event bytes and the
/// Lambda-Runtime-* headers. Stands in for <c>Amazon.Lambda.RuntimeSupport.InvocationRequest</c> with its
/// <c>ILambdaContext</c> (package Amazon.Lambda.RuntimeSupport).
/// </summary>
public sealed class InvocationRequest
{
    /// <summary>Lambda-Runtime-Aws-Request-Id.</summary>
    public required string RequestId { get; init; }

    /// <summary>Lambda-Runtime-Deadline-Ms: when Lambda stops the invocation (wall clock).</summary>
    public required DateTimeOffset Deadline { get; init; }

    /// <summary>Lambda-Runtime-Invoked-Function-Arn.</summary>
    public string? InvokedFunctionArn { get; init; }

    /// <summary>Lambda-Runtime-Trace-Id (X-Ray); also exported as _X_AMZN_TRACE_ID by the bootstrap.</summary>
    public string? TraceId { get; init; }

    public required ReadOnlyMemory<byte> Payload { get; init; }
}
