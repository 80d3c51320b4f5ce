using System.Threading.Channels;
using Pipeline.Core.Batching;
using Pipeline.Core.Records;

namespace Pipeline.Core.Lanes;

/// <summary>
/// One lane: a bounded input of records, its batcher and its invoker, run one batch at a time so the order of each
/// key routed here holds. The lane counts records from routing until acknowledgement, so the router can wait for it
/// to go idle before any of its keys move to another lane.
/// </summary>
public sealed class Lane
{
    private readonly Channel<DecodedRecord> _input;
    private readonly Batcher _batcher;
    private readonly Func<ChannelReader<Batch>, CancellationToken, Task> _runInvoker;
    private readonly Channel<Batch> _batches;
    private long _pending;
    private TaskCompletionSource? _idle;

    /// <param name="runInvoker">Runs the lane's batches (a <c>BatchInvoker</c>, or a stream mapping's failure loop).</param>
    public Lane(int id, int capacity, BatchingOptions batching, TimeProvider time, Func<ChannelReader<Batch>, CancellationToken, Task> runInvoker)
    {
        Id = id;
        _input = Channel.CreateBounded<DecodedRecord>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });

        // Capacity 1: the batcher may cut the next batch while the invoker runs this one, and no further.
        _batches = Channel.CreateBounded<Batch>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
        _batcher = new Batcher(id, _input.Reader, _batches.Writer, batching, time);
        _runInvoker = runInvoker;
    }

    public int Id { get; }

    /// <summary>Records routed here and not yet acknowledged.</summary>
    public long Pending => Interlocked.Read(ref _pending);

    internal ChannelWriter<DecodedRecord> Writer => _input.Writer;

    internal Task RunAsync(CancellationToken abort) =>
        Task.WhenAll(_batcher.RunAsync(abort), _runInvoker(_batches.Reader, abort));

    internal void OnRouted() => Interlocked.Increment(ref _pending);

    internal void OnFinished(int count)
    {
        if (Interlocked.Add(ref _pending, -count) == 0)
        {
            Volatile.Read(ref _idle)?.TrySetResult();
        }
    }

    /// <summary>Completes when every record routed here so far has been acknowledged.</summary>
    internal async Task WaitIdleAsync(CancellationToken cancellationToken)
    {
        while (Pending != 0)
        {
            var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _idle, tcs);
            if (Pending == 0)
            {
                break;
            }

            _batcher.RequestFlush();
            await tcs.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    internal void Complete() => _input.Writer.TryComplete();
}
