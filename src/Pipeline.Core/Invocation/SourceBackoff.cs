namespace Pipeline.Core.Invocation;

/// <summary>
/// The visibility delay for a record whose retriable failure outlived in-process retries: exponential in its
/// receive count, with "equal jitter" (half fixed, half random) so redeliveries of many failed records spread out
/// but never come back sooner than half the nominal delay. JustSaying's MessageDispatcher does the same.
/// </summary>
public static class SourceBackoff
{
    public static TimeSpan For(int receiveCount, TimeSpan baseDelay, TimeSpan maxDelay, Random random)
    {
        int exponent = Math.Clamp(receiveCount - 1, 0, 30);
        double nominal = Math.Min(maxDelay.TotalMilliseconds, baseDelay.TotalMilliseconds * Math.Pow(2, exponent));
        double half = nominal / 2;
        return TimeSpan.FromMilliseconds(half + (random.NextDouble() * half));
    }
}
