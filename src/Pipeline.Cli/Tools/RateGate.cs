namespace Pipeline.Cli.Tools;

/// <summary>
/// Paces sends to at most <c>recordsPerSecond</c> on average: the n-th record may leave at start + n / rate. Waits on
/// the <see cref="TimeProvider"/> (a timer, never a spin), so tests drive it with a fake clock. Null rate = no limit.
/// </summary>
internal sealed class RateGate
{
    private readonly TimeProvider _time;
    private readonly double? _rate;
    private long _start;
    private long _admitted;

    public RateGate(double? recordsPerSecond, TimeProvider time)
    {
        if (recordsPerSecond is { } r && (double.IsNaN(r) || r <= 0 || double.IsInfinity(r)))
        {
            throw new ArgumentOutOfRangeException(nameof(recordsPerSecond), recordsPerSecond, "the rate must be a positive number of records per second");
        }

        _rate = recordsPerSecond;
        _time = time;
    }

    /// <summary>How many records one request may carry so a burst stays within one second's worth.</summary>
    public int BatchSize(int serviceLimit) => _rate is { } r ? (int)Math.Clamp(Math.Floor(r), 1, serviceLimit) : serviceLimit;

    /// <summary>Waits until <paramref name="count"/> more records may leave, then counts them as sent.</summary>
    public async Task WaitAsync(int count, CancellationToken cancellationToken)
    {
        if (_rate is not { } rate)
        {
            return;
        }

        if (_admitted == 0)
        {
            _start = _time.GetTimestamp();
        }

        TimeSpan due = TimeSpan.FromSeconds(_admitted / rate);
        TimeSpan elapsed = _time.GetElapsedTime(_start);
        if (due > elapsed)
        {
            await Task.Delay(due - elapsed, _time, cancellationToken).ConfigureAwait(false);
        }

        _admitted += count;
    }
}
