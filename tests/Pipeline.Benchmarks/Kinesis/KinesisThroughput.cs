using System.Diagnostics;
using System.Globalization;
using System.Text;
using Amazon.DynamoDBv2;
using Pipeline.Aws;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Aws.Kinesis.Leases;
using Pipeline.Aws.Kinesis.Mapping;
using Pipeline.Core.Batching;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Sources.Streams;
using Pipeline.Testing;
using Pipeline.Testing.Emulators;

namespace Pipeline.Benchmarks.Kinesis;

/// <summary>
/// <c>kinesis-throughput [records] [shards] [factor] [rounds] [batch] [poll-ms]</c>: on kinesalite (stream) and
/// moto_server (lease table), both started here on 127.0.0.1, each round creates a stream of S shards, puts N records
/// over 1,000 partition keys, and reads that same stream from TRIM_HORIZON twice, alternating which goes first:
/// (a) a bare drain, one task per shard: GetShardIterator TRIM_HORIZON, then GetRecords (Limit = BatchSize) under the
/// ESM's pacing rules until the shard's records are all read; (b) our KinesisEventSourceMapping (no-op function,
/// ParallelizationFactor F, same BatchSize, default checkpointing, fresh lease table), timed from RunAsync until the
/// function has seen every record and every lease's checkpoint is its shard's last sequence number. Prints records/s of
/// both, the per-round ratio mapping/bare and its median; exits 1 when the median is below 0.9.
/// </summary>
/// <remarks>
/// Pacing, the same for both legs: no wait after a call that returned records while MillisBehindLatest &gt; 0, else
/// wait <c>poll-ms</c> from the previous call's start, and never more than 5 calls in any 1 s window per shard.
/// kinesalite answers MillisBehindLatest 0 on every open shard, so both legs poll once per <c>poll-ms</c>; the default
/// 200 ms is the 5 calls/s/shard that AWS's catch-up reaches while it reports the backlog (the ESM default 1 s would
/// model a stream that is always caught up). With the environment variable KT_TRACE set, each mapping leg also prints
/// its Kinesis calls (start -> end, ms from RunAsync) and the function's progress every 1,000 calls.
/// </remarks>
internal static class KinesisThroughput
{
    private const int Keys = 1000;
    private const int MaxCallsPerSecond = 5;

    public static async Task<int> RunAsync(string[] args)
    {
        var inv = CultureInfo.InvariantCulture;
        int records = Arg(args, 0, 20_000, "records", 1, 1_000_000);
        int shards = Arg(args, 1, 4, "shards", 1, 100);
        int factor = Arg(args, 2, 10, "factor", 1, 10);
        int rounds = Arg(args, 3, 3, "rounds", 1, 100);
        int batch = Arg(args, 4, 100, "batch", 1, 10_000);
        int pollMs = Arg(args, 5, 200, "poll-ms", 1, 60_000);
        var poll = TimeSpan.FromMilliseconds(pollMs);

        await using EmulatorProcess kinesalite = await EmulatorProcess.StartAsync(EmulatorKind.Kinesalite);
        await using EmulatorProcess moto = await EmulatorProcess.StartAsync(EmulatorKind.Moto);
        using KinesisClient realKinesis = AwsEndpoint.At(kinesalite.Endpoint).CreateKinesis();
        var kinesis = new CountingKinesis(realKinesis);
        using IAmazonDynamoDB dynamo = AwsEndpoint.At(moto.Endpoint).CreateDynamoDb();
        using var kinesaliteProcess = Process.GetProcessById(kinesalite.ProcessId);
        using var motoProcess = Process.GetProcessById(moto.ProcessId);
        Console.WriteLine(string.Create(inv, $"kinesalite at {kinesalite.Endpoint}, moto_server (leases) at {moto.Endpoint}; {records:N0} records over {Keys:N0} keys, {shards} shards, ParallelizationFactor {factor}, BatchSize {batch}, poll {pollMs} ms, at most {MaxCallsPerSecond} calls/s/shard, {rounds} rounds, {Environment.ProcessorCount} cores"));

        // Untimed full-size rounds warm up the connections, both emulators and the JIT: a profile of a run with one
        // small warm-up round showed most of the client's CPU in the JIT (tier-1 and PGO recompiles), which the
        // mapping (far more code than the bare loop) pays in its first legs; two rounds let tiering settle.
        for (int w = 0; w < 2; w++)
        {
            Stream warm = await CreateStreamAsync(kinesis, $"warm{w}", shards, records);
            await DrainBareAsync(kinesis, warm, batch, poll);
            await RunMappingAsync(kinesis, dynamo, warm, factor, batch, poll);
            await kinesis.DeleteStreamAsync(new DeleteStreamRequest { StreamName = warm.Name });
        }

        var ratios = new List<double>();
        var bareRates = new List<double>();
        var mappingRates = new List<double>();
        for (int round = 1; round <= rounds; round++)
        {
            Stream stream = await CreateStreamAsync(kinesis, $"r{round}", shards, records);
            bool bareFirst = round % 2 == 1;
            double bareRate = 0, mappingRate = 0;
            for (int leg = 0; leg < 2; leg++)
            {
                bool isBare = bareFirst == (leg == 0);
                TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                kinesaliteProcess.Refresh();
                motoProcess.Refresh();
                TimeSpan kinesaliteBefore = kinesaliteProcess.TotalProcessorTime, motoBefore = motoProcess.TotalProcessorTime;
                string detail;
                TimeSpan elapsed;
                if (isBare)
                {
                    long callsBefore = kinesis.GetRecordsCalls;
                    elapsed = await DrainBareAsync(kinesis, stream, batch, poll);
                    bareRate = records / elapsed.TotalSeconds;
                    detail = string.Create(inv, $"{kinesis.GetRecordsCalls - callsBefore} GetRecords");
                }
                else
                {
                    long callsBefore = kinesis.GetRecordsCalls;
                    MappingRun run = await RunMappingAsync(kinesis, dynamo, stream, factor, batch, poll);
                    elapsed = run.Elapsed;
                    mappingRate = records / elapsed.TotalSeconds;
                    detail = string.Create(inv, $"{kinesis.GetRecordsCalls - callsBefore} GetRecords, {run.Batches} batches, all records seen at {run.AllSeen.TotalSeconds:0.00} s, checkpoints at {run.Elapsed.TotalSeconds:0.00} s, first record at {run.FirstSeen.TotalSeconds:0.00} s");
                }

                double cpuUs = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMicroseconds / records;
                kinesaliteProcess.Refresh();
                motoProcess.Refresh();
                double kinesaliteUs = (kinesaliteProcess.TotalProcessorTime - kinesaliteBefore).TotalMicroseconds / records;
                double motoUs = (motoProcess.TotalProcessorTime - motoBefore).TotalMicroseconds / records;
                Console.WriteLine(string.Create(inv, $"  round {round} {(isBare ? "bare drain" : "mapping"),-10} {records / elapsed.TotalSeconds,8:N0} records/s ({elapsed.TotalSeconds:0.00} s; {detail}; CPU/record client {cpuUs:0.0} us, kinesalite {kinesaliteUs:0.0} us, moto {motoUs:0.0} us)"));
            }

            bareRates.Add(bareRate);
            mappingRates.Add(mappingRate);
            ratios.Add(mappingRate / bareRate);
            Console.WriteLine(string.Create(inv, $"  round {round} mapping/bare {mappingRate / bareRate:0.000}"));
            await kinesis.DeleteStreamAsync(new DeleteStreamRequest { StreamName = stream.Name });
        }

        double median = Median(ratios);
        Console.WriteLine(string.Create(inv, $"median records/s: bare drain {Median(bareRates):N0}, mapping {Median(mappingRates):N0}; per-round mapping/bare [{string.Join(", ", ratios.Select(r => r.ToString("0.000", inv)))}], median {median:0.000} (goal >= 0.9)"));
        return median >= 0.9 ? 0 : 1;
    }

    private sealed record Stream(string Name, IReadOnlyDictionary<string, int> CountPerShard, IReadOnlyDictionary<string, string> LastPerShard, int Records);

    private sealed record MappingRun(TimeSpan Elapsed, TimeSpan FirstSeen, TimeSpan AllSeen, long Batches);

    private static async Task<Stream> CreateStreamAsync(CountingKinesis kinesis, string tag, int shards, int records)
    {
        string name = $"throughput-{tag}-{Guid.NewGuid():N}";
        await kinesis.CreateStreamAsync(new CreateStreamRequest { StreamName = name, ShardCount = shards });
        await Wait.UntilAsync(
            async () => (await kinesis.DescribeStreamSummaryAsync(new DescribeStreamSummaryRequest { StreamName = name })).StreamDescriptionSummary.StreamStatus == StreamStatus.Active,
            $"stream {name} ACTIVE",
            TimeSpan.FromSeconds(30));

        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var last = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (int[] chunk in Enumerable.Range(0, records).Chunk(500))
        {
            PutRecordsResponse put = await kinesis.PutRecordsAsync(new PutRecordsRequest
            {
                StreamName = name,
                Records = chunk.Select(i => new PutRecordsRequestEntry
                {
                    PartitionKey = $"key-{i % Keys}",
                    Data = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $$"""{"jobId":"{{tag}}/{{i}}","source":"s3://in/{{tag}}/{{i}}.jpg"}""")),
                }).ToList(),
            });
            if ((put.FailedRecordCount ?? 0) != 0)
            {
                throw new InvalidOperationException($"PutRecords into {name} failed for {put.FailedRecordCount} record(s): {put.Records.FirstOrDefault(r => r.ErrorCode is not null)?.ErrorMessage}");
            }

            foreach (PutRecordsResultEntry entry in put.Records)
            {
                counts[entry.ShardId!] = counts.GetValueOrDefault(entry.ShardId!) + 1;
                if (!last.TryGetValue(entry.ShardId!, out string? seen) || SequenceNumbers.Compare(entry.SequenceNumber!, seen) > 0)
                {
                    last[entry.ShardId!] = entry.SequenceNumber!;
                }
            }
        }

        return new Stream(name, counts, last, records);
    }

    /// <summary>One task per shard: GetShardIterator TRIM_HORIZON, then GetRecords under the ESM's pacing until the shard's records are read.</summary>
    private static async Task<TimeSpan> DrainBareAsync(CountingKinesis kinesis, Stream stream, int batch, TimeSpan poll)
    {
        long start = Stopwatch.GetTimestamp();
        await Task.WhenAll(stream.CountPerShard.Select(shard => Task.Run(async () =>
        {
            string iterator = (await kinesis.GetShardIteratorAsync(new GetShardIteratorRequest
            {
                StreamName = stream.Name,
                ShardId = shard.Key,
                ShardIteratorType = ShardIteratorType.TrimHorizon,
            })).ShardIterator;
            var recent = new Queue<long>();
            long notBefore = Stopwatch.GetTimestamp();
            int read = 0;
            while (read < shard.Value)
            {
                long started = await WaitForTurnAsync(recent, notBefore);
                GetRecordsResponse response = await kinesis.GetRecordsAsync(new GetRecordsRequest { ShardIterator = iterator, Limit = batch });
                read += response.Records.Count;
                iterator = response.NextShardIterator ?? throw new InvalidOperationException($"shard {shard.Key} of {stream.Name} ended after {read} of {shard.Value} records");
                notBefore = response.Records.Count > 0 && (response.MillisBehindLatest ?? 0) > 0 ? started : started + (long)(poll.TotalSeconds * Stopwatch.Frequency);
            }
        })));
        return Stopwatch.GetElapsedTime(start);
    }

    /// <summary>The ESM poller's rule: the later of <paramref name="notBefore"/> and room in the 1 s window of the last calls; returns the call's start.</summary>
    private static async Task<long> WaitForTurnAsync(Queue<long> recent, long notBefore)
    {
        long due = notBefore;
        if (recent.Count >= MaxCallsPerSecond)
        {
            due = Math.Max(due, recent.Peek() + Stopwatch.Frequency);
        }

        long now = Stopwatch.GetTimestamp();
        if (due > now)
        {
            await Task.Delay(TimeSpan.FromSeconds((double)(due - now) / Stopwatch.Frequency));
            now = Stopwatch.GetTimestamp();
        }

        recent.Enqueue(now);
        while (recent.Count > MaxCallsPerSecond)
        {
            recent.Dequeue();
        }

        return now;
    }

    /// <summary>The mapping with a no-op function over a fresh lease table; timed from RunAsync until every record ran and every shard checkpointed its last one.</summary>
    private static async Task<MappingRun> RunMappingAsync(CountingKinesis kinesis, IAmazonDynamoDB dynamo, Stream stream, int factor, int batch, TimeSpan poll)
    {
        string table = $"leases-{Guid.NewGuid():N}";
        await LeaseTableSchema.EnsureTableAsync(dynamo, table, TimeProvider.System, CancellationToken.None);
        var store = new DynamoDbLeaseStore(dynamo, table);
        var options = new KinesisMappingOptions
        {
            StreamName = stream.Name,
            ParallelizationFactor = factor,
            Batching = BatchingOptions.ForKinesis(batch),
            PollInterval = poll,
        };
        var function = new CountingFunction(stream.Records);
        var guard = new IdempotencyGuard(new InMemoryIdempotencyStore(), "bench", new LocalProcessLiveness(), TimeProvider.System, options.Invoker.ClaimLease);
        var mapping = new KinesisEventSourceMapping(options, kinesis, store, new LeaseCoordinatorOptions { WorkerId = "bench" }, function, guard);
        using var stop = new CancellationTokenSource();
        long start = Stopwatch.GetTimestamp();
        function.Start = start;
        kinesis.TraceStart = start;
        kinesis.Trace = Environment.GetEnvironmentVariable("KT_TRACE") is null ? null : [];
        function.Trace = kinesis.Trace;
        Task run = mapping.RunAsync(stop.Token);
        Task first = await Task.WhenAny(function.AllSeen, run);
        if (first == run)
        {
            await run; // surfaces the failure
            throw new InvalidOperationException("the mapping stopped before every record ran");
        }

        TimeSpan allSeen = Stopwatch.GetElapsedTime(start);
        while (true)
        {
            IReadOnlyList<Lease> leases = await store.ListAsync(CancellationToken.None);
            if (leases.Count == stream.LastPerShard.Count && leases.All(l => l.Checkpoint == stream.LastPerShard[l.LeaseKey]))
            {
                break;
            }

            if (run.IsCompleted)
            {
                await run;
                throw new InvalidOperationException("the mapping stopped before every shard checkpointed its last record");
            }

            await Task.Delay(10);
        }

        TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
        if (kinesis.Trace is { } trace)
        {
            kinesis.Trace = null;
            Console.WriteLine(string.Join(Environment.NewLine, trace));
        }

        await stop.CancelAsync();
        await run;
        if (mapping.Statistics.SucceededEventCount != stream.Records || function.Calls != stream.Records)
        {
            throw new InvalidOperationException($"the mapping ran {function.Calls} calls and counted {mapping.Statistics.SucceededEventCount} successes for {stream.Records} records");
        }

        await dynamo.DeleteTableAsync(table);
        return new MappingRun(elapsed, function.FirstSeen, allSeen, mapping.Statistics.BatchCount);
    }

    private static int Arg(string[] args, int index, int fallback, string name, int min, int max)
    {
        if (args.Length <= index)
        {
            return fallback;
        }

        if (!int.TryParse(args[index], NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
        {
            throw new ArgumentException($"kinesis-throughput: {name} must be an integer from {min} to {max}, got '{args[index]}'.");
        }

        return value;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>Counts GetRecords calls (both legs go through it, so its cost is the same on each); traces the mapping leg's calls when KT_TRACE is set.</summary>
    private sealed class CountingKinesis(IKinesisClient inner) : IKinesisClient
    {
        private long _getRecords;

        public long GetRecordsCalls => Interlocked.Read(ref _getRecords);

        public Task CreateStreamAsync(CreateStreamRequest request, CancellationToken cancellationToken = default) => inner.CreateStreamAsync(request, cancellationToken);

        public Task DeleteStreamAsync(DeleteStreamRequest request, CancellationToken cancellationToken = default) => inner.DeleteStreamAsync(request, cancellationToken);

        public Task<DescribeStreamSummaryResponse> DescribeStreamSummaryAsync(DescribeStreamSummaryRequest request, CancellationToken cancellationToken = default) => Traced("Describe", inner.DescribeStreamSummaryAsync(request, cancellationToken));

        public Task<ListShardsResponse> ListShardsAsync(ListShardsRequest request, CancellationToken cancellationToken = default) => Traced("ListShards", inner.ListShardsAsync(request, cancellationToken));

        public Task<GetShardIteratorResponse> GetShardIteratorAsync(GetShardIteratorRequest request, CancellationToken cancellationToken = default) => Traced("Iterator", inner.GetShardIteratorAsync(request, cancellationToken));

        private async Task<T> Traced<T>(string what, Task<T> call, Func<T, string>? detail = null)
        {
            long t0 = Stopwatch.GetTimestamp();
            T result = await call;
            if (Trace is { } trace)
            {
                lock (trace)
                {
                    trace.Add(string.Create(CultureInfo.InvariantCulture, $"{what} {Stopwatch.GetElapsedTime(TraceStart, t0).TotalMilliseconds:0} -> {Stopwatch.GetElapsedTime(TraceStart).TotalMilliseconds:0}{detail?.Invoke(result)}"));
                }
            }

            return result;
        }

        public Task<GetRecordsResponse> GetRecordsAsync(GetRecordsRequest request, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _getRecords);
            return Traced("GetRecords", inner.GetRecordsAsync(request, cancellationToken), r => string.Create(CultureInfo.InvariantCulture, $" {r.Records.Count} records"));
        }

        /// <summary>Call start and end (ms since <see cref="TraceStart"/>) of each call while set (KT_TRACE).</summary>
        public List<string>? Trace { get; set; }

        public long TraceStart { get; set; }

        public Task<PutRecordsResponse> PutRecordsAsync(PutRecordsRequest request, CancellationToken cancellationToken = default) => inner.PutRecordsAsync(request, cancellationToken);

        public Task SplitShardAsync(SplitShardRequest request, CancellationToken cancellationToken = default) => inner.SplitShardAsync(request, cancellationToken);

        public Task MergeShardsAsync(MergeShardsRequest request, CancellationToken cancellationToken = default) => inner.MergeShardsAsync(request, cancellationToken);
    }

    /// <summary>Does nothing but count; completes <see cref="AllSeen"/> at the expected count.</summary>
    private sealed class CountingFunction(int expected) : IJobFunction
    {
        private readonly TaskCompletionSource _allSeen = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _calls;
        private long _first;

        public long Start { get; set; }

        public List<string>? Trace { get; set; }

        public Task AllSeen => _allSeen.Task;

        public int Calls => Volatile.Read(ref _calls);

        public TimeSpan FirstSeen => Stopwatch.GetElapsedTime(Start, Interlocked.Read(ref _first));

        public ValueTask<JobOutput> InvokeAsync(Job job, InvocationContext context, CancellationToken cancellationToken)
        {
            int calls = Interlocked.Increment(ref _calls);
            if (calls == 1)
            {
                Interlocked.Exchange(ref _first, Stopwatch.GetTimestamp());
            }

            if (calls % 1000 == 0 && Trace is { } t)
            {
                lock (t)
                {
                    t.Add(string.Create(CultureInfo.InvariantCulture, $"function {Stopwatch.GetElapsedTime(Start).TotalMilliseconds:0} {calls} calls"));
                }
            }

            if (calls == expected)
            {
                _allSeen.TrySetResult();
            }

            return ValueTask.FromResult(new JobOutput(null));
        }
    }
}
