using Pipeline.Core.Hosting;

namespace Pipeline.Testing.Mappings;

/// <summary>Runs a mapping against a real server until a condition holds, then stops it and waits for it to end.</summary>
public static class MappingRun
{
    /// <summary>
    /// Starts <paramref name="mapping"/>, polls <paramref name="done"/> (or the mapping ending early) within
    /// <paramref name="bound"/>, then cancels it; a failure of the mapping itself surfaces from the final wait.
    /// </summary>
    public static async Task UntilAsync(EventSourceMapping mapping, Func<Task<bool>> done, string what, TimeSpan bound)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        ArgumentNullException.ThrowIfNull(done);
        using var stop = new CancellationTokenSource();
        Task run = mapping.RunAsync(stop.Token);
        try
        {
            await Wait.UntilAsync(async () => run.IsCompleted || await done(), what, bound);
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(bound);
        }
    }
}
