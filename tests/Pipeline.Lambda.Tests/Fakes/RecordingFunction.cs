using System.Collections.Concurrent;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;

namespace Pipeline.Lambda.Tests.Fakes;

/// <summary>
/// A function that records the jobs it ran. A source containing "corrupt" fails permanently (like an undecodable
/// image); <see cref="OnInvoke"/> lets a test move a fake clock while a record "works".
/// </summary>
internal sealed class RecordingFunction : IJobFunction
{
    private readonly ConcurrentQueue<Job> _invoked = new();

    public Action<Job>? OnInvoke { get; init; }

    public IReadOnlyList<Job> Invoked => [.. _invoked];

    public ValueTask<JobOutput> InvokeAsync(Job job, InvocationContext context, CancellationToken cancellationToken)
    {
        _invoked.Enqueue(job);
        OnInvoke?.Invoke(job);
        if (job.Source.Contains("corrupt", StringComparison.Ordinal))
        {
            throw new PermanentJobException($"{job.Source}: not an image");
        }

        return ValueTask.FromResult(new JobOutput(job.Destination));
    }
}
