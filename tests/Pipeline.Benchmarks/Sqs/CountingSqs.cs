using System.Diagnostics;
using System.Reflection;
using Amazon.SQS;
using Amazon.SQS.Model;

namespace Pipeline.Benchmarks.Sqs;

/// <summary>Counts the calls a client makes and how long they take, to tell request count from latency.</summary>
internal class CountingSqs : DispatchProxy
{
    private IAmazonSQS _inner = null!;

    public long Receives, ReceivedMessages, Deletes, DeletedEntries, ReceiveTicks, DeleteTicks;

    public static (IAmazonSQS Client, CountingSqs Counts) Wrap(IAmazonSQS inner)
    {
        IAmazonSQS proxy = Create<IAmazonSQS, CountingSqs>();
        var counts = (CountingSqs)(object)proxy;
        counts._inner = inner;
        return (proxy, counts);
    }

    public void Reset() => Receives = ReceivedMessages = Deletes = DeletedEntries = ReceiveTicks = DeleteTicks = 0;

    public override string ToString()
    {
        double f = 1000.0 / Stopwatch.Frequency;
        return FormattableString.Invariant($"{Receives} receives ({(double)ReceivedMessages / Math.Max(1, Receives):0.0} msgs, {ReceiveTicks * f / Math.Max(1, Receives):0.00} ms each), {Deletes} deletes ({(double)DeletedEntries / Math.Max(1, Deletes):0.0} entries, {DeleteTicks * f / Math.Max(1, Deletes):0.00} ms each)");
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        object? result = targetMethod.Invoke(_inner, args);
        long start = Stopwatch.GetTimestamp();
        if (result is Task<ReceiveMessageResponse> receive)
        {
            return receive.ContinueWith(t =>
            {
                Interlocked.Increment(ref Receives);
                Interlocked.Add(ref ReceiveTicks, Stopwatch.GetTimestamp() - start);
                Interlocked.Add(ref ReceivedMessages, t.Result.Messages?.Count ?? 0);
                return t.Result;
            }, TaskScheduler.Default);
        }

        if (result is Task<DeleteMessageBatchResponse> delete && args?[0] is DeleteMessageBatchRequest request)
        {
            return delete.ContinueWith(t =>
            {
                Interlocked.Increment(ref Deletes);
                Interlocked.Add(ref DeleteTicks, Stopwatch.GetTimestamp() - start);
                Interlocked.Add(ref DeletedEntries, request.Entries.Count);
                return t.Result;
            }, TaskScheduler.Default);
        }

        return result;
    }
}
