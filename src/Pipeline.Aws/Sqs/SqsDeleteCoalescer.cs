namespace Pipeline.Aws.Sqs;

/// <summary>
/// Merges the deletes of concurrent acknowledgements (one per lane) into full DeleteMessageBatch calls, the way a
/// database group-commits: a full chunk of 10 goes at once, and a partial chunk goes only while no other partial one
/// is in flight, so under load the lanes' leftovers fill each other's batches and when idle a delete is not delayed.
/// Each caller's task completes when all of its entries were applied (or given up on and logged).
/// </summary>
internal sealed class SqsDeleteCoalescer<T>(Func<List<T>, Task> send)
{
    private readonly Lock _lock = new();
    private readonly List<(T Item, Ticket Ticket)> _pending = [];
    private bool _partialInFlight;

    public Task EnqueueAsync(IReadOnlyList<T> items)
    {
        if (items.Count == 0)
        {
            return Task.CompletedTask;
        }

        var ticket = new Ticket(items.Count);
        lock (_lock)
        {
            foreach (T item in items)
            {
                _pending.Add((item, ticket));
            }
        }

        Pump();
        return ticket.Task;
    }

    private void Pump()
    {
        while (true)
        {
            List<(T Item, Ticket Ticket)> chunk;
            bool partial;
            lock (_lock)
            {
                if (_pending.Count >= SqsLimits.MaxBatchEntries)
                {
                    partial = false;
                }
                else if (_pending.Count > 0 && !_partialInFlight)
                {
                    partial = true;
                    _partialInFlight = true;
                }
                else
                {
                    return;
                }

                int take = Math.Min(SqsLimits.MaxBatchEntries, _pending.Count);
                chunk = _pending.GetRange(0, take);
                _pending.RemoveRange(0, take);
            }

            _ = SendAsync(chunk, partial);
        }
    }

    private async Task SendAsync(List<(T Item, Ticket Ticket)> chunk, bool partial)
    {
        try
        {
            await send(chunk.ConvertAll(c => c.Item)).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The sender logs and never throws for an entry; anything else still must not strand a caller.
            foreach ((_, Ticket ticket) in chunk)
            {
                ticket.Fail(ex);
            }
        }
        finally
        {
            foreach ((_, Ticket ticket) in chunk)
            {
                ticket.Signal();
            }

            if (partial)
            {
                lock (_lock)
                {
                    _partialInFlight = false;
                }
            }

            Pump();
        }
    }

    private sealed class Ticket(int count)
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _remaining = count;
        private Exception? _error;

        public Task Task => _done.Task;

        public void Fail(Exception ex) => Interlocked.CompareExchange(ref _error, ex, null);

        public void Signal()
        {
            if (Interlocked.Decrement(ref _remaining) == 0)
            {
                if (Volatile.Read(ref _error) is { } error)
                {
                    _done.TrySetException(error);
                }
                else
                {
                    _done.TrySetResult();
                }
            }
        }
    }
}
