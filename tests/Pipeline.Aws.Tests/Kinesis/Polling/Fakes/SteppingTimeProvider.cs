using Microsoft.Extensions.Time.Testing;
using Pipeline.Testing;

namespace Pipeline.Aws.Tests.Kinesis.Polling.Fakes;

/// <summary>
/// A FakeTimeProvider that knows its pending timers, so a test can step time from one timer to the next as soon as
/// the code under test waits on one (instead of advancing blindly before the wait is registered).
/// </summary>
public sealed class SteppingTimeProvider : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<PendingTimer> _pending = [];

    public FakeTimeProvider Fake { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public DateTimeOffset Start { get; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public TimeSpan Elapsed => Fake.GetUtcNow() - Start;

    public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

    public override long GetTimestamp() => Fake.GetTimestamp();

    public override long TimestampFrequency => Fake.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => Fake.LocalTimeZone;

    /// <summary>The earliest due time of a live timer; null when nothing waits on the clock.</summary>
    public DateTimeOffset? NextDue
    {
        get
        {
            lock (_gate)
            {
                return _pending.Count == 0 ? null : _pending.Min(p => p.Due);
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var pending = new PendingTimer(this, GetUtcNow() + dueTime);
        lock (_gate)
        {
            _pending.Add(pending);
        }

        pending.Inner = Fake.CreateTimer(
            s =>
            {
                Remove(pending);
                callback(s);
            },
            state,
            dueTime,
            period);
        return pending;
    }

    /// <summary>
    /// Steps the clock from timer to timer until <paramref name="done"/> holds or the clock would pass
    /// <paramref name="horizon"/> (then it stops at the horizon). Throws when nothing waits on the clock for 5 s of real
    /// time while not done.
    /// </summary>
    public async Task RunUntilAsync(Func<bool> done, TimeSpan horizon)
    {
        var end = Start + horizon;
        while (!done())
        {
            await Wait.UntilAsync(() => done() || NextDue is not null, "a pending timer", TimeSpan.FromSeconds(5));
            if (done())
            {
                return;
            }

            var due = NextDue!.Value;
            if (due > end)
            {
                Fake.SetUtcNow(end);
                return;
            }

            if (due > GetUtcNow())
            {
                Fake.SetUtcNow(due);
            }
            else
            {
                Fake.Advance(TimeSpan.Zero);
            }
        }
    }

    private void Remove(PendingTimer timer)
    {
        lock (_gate)
        {
            _pending.Remove(timer);
        }
    }

    private sealed class PendingTimer(SteppingTimeProvider owner, DateTimeOffset due) : ITimer
    {
        public DateTimeOffset Due { get; private set; } = due;

        public ITimer? Inner { get; set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            Due = owner.GetUtcNow() + dueTime;
            return Inner!.Change(dueTime, period);
        }

        public void Dispose()
        {
            owner.Remove(this);
            Inner?.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
