using System.Collections.Concurrent;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;

namespace Pipeline.Core.Tests.Fakes;

/// <summary>A function whose behaviour each test scripts; it counts calls per job key.</summary>
internal sealed class ScriptedFunction(Func<Job, InvocationContext, CancellationToken, ValueTask<JobOutput>> body) : IJobFunction
{
    public ScriptedFunction() : this((job, _, _) => ValueTask.FromResult(new JobOutput("out/" + job.Source))) { }

    public ConcurrentDictionary<string, int> CallsByKey { get; } = new();

    public ConcurrentQueue<InvocationContext> Calls { get; } = new();

    public int TotalCalls => Calls.Count;

    public Func<Job, ValueTask<string?>>? Identity { get; init; }

    public ValueTask<string?> GetSourceIdentityAsync(Job job, CancellationToken cancellationToken) =>
        Identity is null ? ValueTask.FromResult<string?>(null) : Identity(job);

    public ValueTask<JobOutput> InvokeAsync(Job job, InvocationContext context, CancellationToken cancellationToken)
    {
        Calls.Enqueue(context);
        CallsByKey.AddOrUpdate(job.Key, 1, (_, n) => n + 1);
        return body(job, context, cancellationToken);
    }
}

internal sealed class FakeLiveness(Func<string, bool> isDead) : Pipeline.Core.Idempotency.IOwnerLiveness
{
    public static FakeLiveness NobodyDies { get; } = new(_ => false);

    public bool IsDefinitelyDead(string owner) => isDead(owner);
}
