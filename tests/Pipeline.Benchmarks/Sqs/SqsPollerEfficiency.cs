using System.Diagnostics;
using System.Globalization;
using Amazon.SQS;
using Amazon.SQS.Model;
using Pipeline.Aws;
using Pipeline.Aws.Sqs;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Testing.Emulators;

namespace Pipeline.Benchmarks.Sqs;

/// <summary>
/// <c>sqs-poller-efficiency [messages] [concurrency] [rounds]</c>: on fauxqs (started here on 127.0.0.1), drains a
/// queue of N messages with a bare AWSSDK.SQS loop of C workers (receive 10, delete-batch) and with our
/// EventSourceMapping (SqsRecordSource, no-op function, in-memory idempotency store, BatchSize 10, concurrency C),
/// alternating which goes first each round, and prints messages/s of both and their ratio (the goal: at least 0.9),
/// with each leg's request counts and latencies and the client's and fauxqs's CPU per message.
/// </summary>
internal static class SqsPollerEfficiency
{
    public static async Task<int> RunAsync(string[] args)
    {
        int messages = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20_000;
        int concurrency = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        int rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
        var inv = CultureInfo.InvariantCulture;

        await using EmulatorProcess fauxqs = await EmulatorProcess.StartAsync(EmulatorKind.Fauxqs);
        using IAmazonSQS realSqs = AwsEndpoint.At(fauxqs.Endpoint).CreateSqs();
        (IAmazonSQS sqs, CountingSqs counts) = CountingSqs.Wrap(realSqs);
        string url = (await sqs.CreateQueueAsync(new CreateQueueRequest
        {
            QueueName = "poller-efficiency",
            Attributes = new Dictionary<string, string> { ["VisibilityTimeout"] = "60" },
        })).QueueUrl;
        SqsQueueInfo queue = await SqsQueues.DescribeAsync(sqs, url);
        using var server = Process.GetProcessById(fauxqs.ProcessId);
        var sender = new SqsJobSender(sqs, queue, new SqsSenderOptions { MaxConcurrentRequests = 8 });
        Console.WriteLine(string.Create(inv, $"fauxqs at {fauxqs.Endpoint}; {messages:N0} messages per drain, concurrency {concurrency}, {rounds} rounds, {Environment.ProcessorCount} cores"));

        // One untimed full-size drain of each warms up the JIT, the connections and fauxqs itself (the first drain of
        // a fresh server is much slower whichever path runs it).
        await FillAsync(sender, messages, "warm-bare");
        await DrainBareAsync(sqs, url, messages, concurrency);
        await FillAsync(sender, messages, "warm-pipeline");
        await DrainPipelineAsync(sqs, queue, messages, concurrency);

        var bare = new List<double>();
        var ours = new List<double>();
        for (int round = 1; round <= rounds; round++)
        {
            bool bareFirst = round % 2 == 1;
            for (int leg = 0; leg < 2; leg++)
            {
                bool isBare = bareFirst == (leg == 0);
                await FillAsync(sender, messages, $"r{round}l{leg}");
                TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                TimeSpan serverBefore = server.TotalProcessorTime;
                counts.Reset();
                int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);
                TimeSpan elapsed = isBare
                    ? await DrainBareAsync(sqs, url, messages, concurrency)
                    : await DrainPipelineAsync(sqs, queue, messages, concurrency);
                double rate = messages / elapsed.TotalSeconds;
                double cpuUs = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMicroseconds / messages;
                server.Refresh();
                double serverUs = (server.TotalProcessorTime - serverBefore).TotalMicroseconds / messages;
                (isBare ? bare : ours).Add(rate);
                Console.WriteLine(string.Create(inv, $"    {counts}; GCs gen0 {GC.CollectionCount(0) - gen0}, gen1 {GC.CollectionCount(1) - gen1}, gen2 {GC.CollectionCount(2) - gen2}"));
                Console.WriteLine(string.Create(inv, $"  round {round} {(isBare ? "bare loop" : "pipeline "),-9} {rate,9:N0} messages/s ({elapsed.TotalSeconds:0.00} s, CPU/message client {cpuUs:0.0} us, fauxqs {serverUs:0.0} us{(isBare ? "" : $", mean batch {LastMeanBatch:0.0}")})"));
            }
        }

        double bareMedian = Median(bare), oursMedian = Median(ours);
        // Each round's two legs run back to back, so their ratio is the least disturbed by a busy machine's drift.
        double pairedMedian = Median(bare.Zip(ours, (b, o) => o / b).ToList());
        Console.WriteLine(string.Create(inv, $"median messages/s: bare loop {bareMedian:N0}, pipeline {oursMedian:N0}; pipeline/bare {oursMedian / bareMedian:0.000}, median of per-round ratios {pairedMedian:0.000} (goal >= 0.9)"));
        return 0;
    }

    private static async Task FillAsync(SqsJobSender sender, int count, string tag)
    {
        var batch = new List<SqsOutgoingMessage>(count);
        for (int i = 0; i < count; i++)
        {
            batch.Add(new SqsOutgoingMessage($$"""{"jobId":"{{tag}}-{{i}}","source":"in/{{tag}}/{{i}}.jpg"}"""));
        }

        await sender.SendAsync(batch);
    }

    /// <summary>C workers, each: ReceiveMessage (10, long poll) then DeleteMessageBatch of what it got.</summary>
    private static async Task<TimeSpan> DrainBareAsync(IAmazonSQS sqs, string url, int count, int concurrency)
    {
        int done = 0;
        long finishedAt = 0;
        long start = Stopwatch.GetTimestamp();
        var workers = new Task[concurrency];
        for (int w = 0; w < concurrency; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                while (Volatile.Read(ref done) < count)
                {
                    var receive = new ReceiveMessageRequest { QueueUrl = url, MaxNumberOfMessages = 10, WaitTimeSeconds = 1 };
                    ReceiveMessageResponse received = await sqs.ReceiveMessageAsync(receive);
                    List<Message>? got = received.Messages;
                    if (got is null || got.Count == 0)
                    {
                        continue;
                    }

                    var request = new DeleteMessageBatchRequest { QueueUrl = url, Entries = new List<DeleteMessageBatchRequestEntry>(got.Count) };
                    for (int i = 0; i < got.Count; i++)
                    {
                        request.Entries.Add(new DeleteMessageBatchRequestEntry(i.ToString(CultureInfo.InvariantCulture), got[i].ReceiptHandle));
                    }

                    await sqs.DeleteMessageBatchAsync(request);
                    if (Interlocked.Add(ref done, got.Count) >= count)
                    {
                        Interlocked.CompareExchange(ref finishedAt, Stopwatch.GetTimestamp(), 0);
                    }
                }
            });
        }

        await Task.WhenAll(workers);
        return Stopwatch.GetElapsedTime(start, finishedAt);
    }

    /// <summary>Our EventSourceMapping on the same queue: no-op function, in-memory idempotency store, BatchSize 10.</summary>
    private static async Task<TimeSpan> DrainPipelineAsync(IAmazonSQS sqs, SqsQueueInfo queue, int count, int concurrency)
    {
        await using var source = new SqsRecordSource(sqs, queue, new SqsSourceOptions { Queue = queue.Url, WaitTimeSeconds = 1 });
        MappingOptions options = SqsMappingDefaults.For(source, batchSize: 10, concurrency: concurrency);
        var mapping = new EventSourceMapping(options, source, new NoOpFunction(),
            new IdempotencyGuard(new InMemoryIdempotencyStore(), "bench/1/1/a", new LocalProcessLiveness(), TimeProvider.System, options.Invoker.ClaimLease));
        using var stop = new CancellationTokenSource();
        long start = Stopwatch.GetTimestamp();
        Task run = mapping.RunAsync(stop.Token);
        while (mapping.Statistics.SucceededEventCount + mapping.Statistics.SkippedEventCount < count)
        {
            if (run.IsCompleted)
            {
                await run; // surfaces the failure
                throw new InvalidOperationException("the mapping stopped before draining the queue");
            }

            await Task.Delay(1);
        }

        TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
        await stop.CancelAsync();
        await run;
        LastMeanBatch = (double)count / mapping.Statistics.BatchCount;
        return elapsed;
    }

    private static double LastMeanBatch;

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private sealed class NoOpFunction : IJobFunction
    {
        public ValueTask<JobOutput> InvokeAsync(Job job, InvocationContext context, CancellationToken cancellationToken) => ValueTask.FromResult(new JobOutput(null));
    }
}
