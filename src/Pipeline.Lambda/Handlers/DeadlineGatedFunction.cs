using Pipeline.Core.Invocation;
using Pipeline.Core.Records;

namespace Pipeline.Lambda.Handlers;

/// <summary>
/// Wraps the function so that no record (and no in-process retry of one) starts once the invocation's remaining time
/// is below its margin. It throws <see cref="DeadlineReachedException"/>, which the invoker treats as a retriable
/// failure that is not retried in process: the claim is released and the record lands in <c>batchItemFailures</c>.
/// Lambda runs one invocation at a time per environment, so one current deadline is enough.
/// </summary>
internal sealed class DeadlineGatedFunction(IJobFunction inner, TimeProvider time) : IJobFunction
{
    private (DateTimeOffset Deadline, TimeSpan Margin)? _current;

    public void Begin(DateTimeOffset deadline, TimeSpan margin) => _current = (deadline, margin);

    public void End() => _current = null;

    public ValueTask<string?> GetSourceIdentityAsync(Job job, CancellationToken cancellationToken) => inner.GetSourceIdentityAsync(job, cancellationToken);

    public ValueTask<JobOutput> InvokeAsync(Job job, InvocationContext context, CancellationToken cancellationToken)
    {
        if (_current is { } gate)
        {
            TimeSpan left = gate.Deadline - time.GetUtcNow();
            if (left < gate.Margin)
            {
                throw new DeadlineReachedException(
                    $"not started: {Math.Max(0, left.TotalMilliseconds):0} ms left before the Lambda deadline, below the safety margin of {gate.Margin.TotalMilliseconds:0} ms");
            }
        }

        return inner.InvokeAsync(job, context, cancellationToken);
    }
}

/// <summary>A record was not started because the invocation's deadline was too close; it goes back to the source.</summary>
public sealed class DeadlineReachedException : Exception
{
    public DeadlineReachedException(string message) : base(message) { }

    public DeadlineReachedException(string message, Exception inner) : base(message, inner) { }

    public DeadlineReachedException() { }
}
