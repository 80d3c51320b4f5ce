using System.Diagnostics;

namespace Pipeline.Testing;

/// <summary>Polls a condition with a bounded timeout: the way to wait on real servers (never a guessed sleep).</summary>
public static class Wait
{
    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        await UntilAsync(() => Task.FromResult(condition()), what, timeout);
    }

    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        var pause = interval ?? TimeSpan.FromMilliseconds(20);
        var started = Stopwatch.StartNew();
        while (!await condition())
        {
            if (started.Elapsed > limit)
            {
                throw new TimeoutException($"Timed out after {limit.TotalSeconds} s waiting for: {what}");
            }

            await Task.Delay(pause);
        }
    }
}
