using System.Threading.Channels;
using Pipeline.Core.Records;

namespace Pipeline.Core.Batching;

/// <summary>
/// Cuts one lane's records into batches by BatchSize, MaximumBatchingWindowInSeconds and the payload cap, and hands
/// them to the lane's invoker through a bounded channel. The window starts at a batch's first record, as the ESM's
/// does.
/// </summary>
public sealed class Batcher
{
    private readonly int _laneId;
    private readonly ChannelReader<DecodedRecord> _input;
    private readonly ChannelWriter<Batch> _output;
    private readonly BatchingOptions _options;
    private readonly TimeProvider _time;
    private CancellationTokenSource _flush = new();
    private int _flushRequested;

    public Batcher(int laneId, ChannelReader<DecodedRecord> input, ChannelWriter<Batch> output, BatchingOptions options, TimeProvider timeProvider)
    {
        _laneId = laneId;
        _input = input;
        _output = output;
        _options = options;
        _time = timeProvider;
    }

    /// <summary>Cuts the batch being gathered now instead of waiting out the window (before this lane's keys move).</summary>
    public void RequestFlush()
    {
        Volatile.Write(ref _flushRequested, 1);
        Volatile.Read(ref _flush).Cancel();
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            DecodedRecord? carry = null;
            while (true)
            {
                if (carry is null)
                {
                    if (!await _input.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        break;
                    }

                    if (!_input.TryRead(out carry))
                    {
                        continue;
                    }
                }

                Batch batch = await GatherAsync(carry, cancellationToken).ConfigureAwait(false);
                carry = _pendingCarry;
                _pendingCarry = null;
                await _output.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _output.TryComplete();
        }
    }

    private DecodedRecord? _pendingCarry;

    private async ValueTask<Batch> GatherAsync(DecodedRecord first, CancellationToken cancellationToken)
    {
        int size = _options.BatchSize;
        var items = new List<DecodedRecord>(Math.Min(size, 256)) { first };
        long bytes = first.Record.PayloadBytes;
        TimeSpan window = _options.MaximumBatchingWindow;
        long started = _time.GetTimestamp();

        while (true)
        {
            while (items.Count < size && _input.TryRead(out DecodedRecord? next))
            {
                long nextBytes = next.Record.PayloadBytes;
                if (bytes + nextBytes > _options.MaxPayloadBytes)
                {
                    _pendingCarry = next;
                    return Cut(items, bytes, BatchCutReason.PayloadCapReached);
                }

                items.Add(next);
                bytes += nextBytes;
            }

            if (items.Count >= size)
            {
                return Cut(items, bytes, BatchCutReason.BatchSizeReached);
            }

            if (window <= TimeSpan.Zero)
            {
                return Cut(items, bytes, BatchCutReason.NoWindow);
            }

            if (Interlocked.Exchange(ref _flushRequested, 0) == 1)
            {
                return Cut(items, bytes, BatchCutReason.Flushed);
            }

            TimeSpan remaining = window - _time.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                return Cut(items, bytes, BatchCutReason.WindowElapsed);
            }

            switch (await WaitForMoreAsync(remaining, cancellationToken).ConfigureAwait(false))
            {
                case WaitResult.Timeout:
                    return Cut(items, bytes, BatchCutReason.WindowElapsed);
                case WaitResult.Completed:
                    return Cut(items, bytes, BatchCutReason.Flushed);
                case WaitResult.Flush:
                    Volatile.Write(ref _flushRequested, 0);
                    return Cut(items, bytes, BatchCutReason.Flushed);
                default:
                    continue;
            }
        }
    }

    private Batch Cut(List<DecodedRecord> items, long bytes, BatchCutReason reason) => new(_laneId, items, bytes, reason);

    private enum WaitResult
    {
        DataAvailable,
        Timeout,
        Completed,
        Flush,
    }

    private async ValueTask<WaitResult> WaitForMoreAsync(TimeSpan remaining, CancellationToken cancellationToken)
    {
        CancellationTokenSource flush = Volatile.Read(ref _flush);
        if (flush.IsCancellationRequested)
        {
            flush.Dispose();
            Volatile.Write(ref _flush, flush = new CancellationTokenSource());
            if (Volatile.Read(ref _flushRequested) == 1)
            {
                return WaitResult.Flush;
            }
        }

        using var timeout = new CancellationTokenSource(remaining, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token, flush.Token);
        try
        {
            return await _input.WaitToReadAsync(linked.Token).ConfigureAwait(false) ? WaitResult.DataAvailable : WaitResult.Completed;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return flush.IsCancellationRequested ? WaitResult.Flush : WaitResult.Timeout;
        }
    }
}
