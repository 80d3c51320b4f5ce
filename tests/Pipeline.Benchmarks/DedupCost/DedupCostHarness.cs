using System.Diagnostics;
using System.Globalization;
using Amazon.DynamoDBv2;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Aws;
using Pipeline.Aws.DynamoDb;
using Pipeline.Core.Idempotency;
using Pipeline.Testing.Emulators;

namespace Pipeline.Benchmarks.DedupCost;

/// <summary>
/// <c>dedup-cost [records] [rounds]</c>: what the idempotency guard costs per record, claim plus complete, measured on
/// the DynamoDB store against moto_server and dynalite (both started here on 127.0.0.1), with the SQLite store as the
/// local reference. Cases: one record at a time (a claim call, then a complete call); batches of 10 (one claim call
/// for 10 keys, then one finish call for 10), as concurrent PutItems, or as TransactWriteItems (moto only, dynalite
/// lacks it). Every case runs once per round on fresh keys, the cases taking turns so that machine noise falls on all
/// alike. A per-record figure of a batch is the batch's time divided by 10.
/// </summary>
internal static class DedupCostHarness
{
    private const int BatchSize = 10;
    private const string Owner = "bench/1/1";
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(string[] args)
    {
        var records = args.Length > 0 ? int.Parse(args[0], Inv) : 200;
        var rounds = args.Length > 1 ? int.Parse(args[1], Inv) : 3;
        if (records < BatchSize || records % BatchSize != 0 || rounds < 1)
        {
            Console.Error.WriteLine($"dedup-cost [records] [rounds]: records must be a positive multiple of {BatchSize}, rounds at least 1.");
            return 2;
        }

        var cases = new List<Case>();
        var disposables = new List<IAsyncDisposable>();
        var work = Directory.CreateTempSubdirectory("bgpipe-dedup-").FullName;
        try
        {
            foreach (var kind in new[] { EmulatorKind.Moto, EmulatorKind.Dynalite })
            {
                var why = EmulatorAvailability.WhyUnavailable(kind);
                if (why is not null)
                {
                    Console.WriteLine($"{kind}: skipped ({why})");
                    continue;
                }

                var emulator = await EmulatorProcess.StartAsync(kind);
                disposables.Add(emulator);
                var endpoint = AwsEndpoint.At(emulator.Endpoint, AwsEndpoint.DefaultLocalRegion);
                var client = endpoint.CreateDynamoDb();
                var table = $"dedup-{kind.ToString().ToLowerInvariant()}";
                await IdempotencyTableSchema.EnsureTableAsync(client, table, NullLogger.Instance, TimeProvider.System, CancellationToken.None);
                var puts = new DynamoDbIdempotencyStore(client, new DynamoDbIdempotencyStoreOptions { TableName = table });
                var name = kind == EmulatorKind.Moto ? "DynamoDB on moto" : "DynamoDB on dynalite";
                cases.Add(new Case(name, "single", puts, 1));
                cases.Add(new Case(name, "batch 10, PutItems", kind == EmulatorKind.Moto
                    ? new DynamoDbIdempotencyStore(client, new DynamoDbIdempotencyStoreOptions { TableName = await BatchTableAsync(client, table) })
                    : puts, BatchSize));
                if (kind == EmulatorKind.Moto)
                {
                    // A table of its own, as big as the PutItems' table at every point: moto copies the whole table
                    // at the start of each transaction, so its cost grows with the table.
                    var transactionTable = table + "-tx";
                    await IdempotencyTableSchema.EnsureTableAsync(client, transactionTable, NullLogger.Instance, TimeProvider.System, CancellationToken.None);
                    var transactions = new DynamoDbIdempotencyStore(client, new DynamoDbIdempotencyStoreOptions { TableName = transactionTable, UseTransactions = true });
                    cases.Add(new Case(name, "batch 10, TransactWriteItems", transactions, BatchSize));
                }
            }

            var sqlite = new SqliteIdempotencyStore(Path.Combine(work, "claims.db"));
            disposables.Add(sqlite);
            cases.Add(new Case("SQLite (reference)", "single", sqlite, 1));
            cases.Add(new Case("SQLite (reference)", "batch 10", sqlite, BatchSize));

            // Warm-up: connections, JIT, the emulators' first requests.
            foreach (var c in cases)
            {
                await c.RunAsync($"warm-{Guid.NewGuid():N}", Math.Max(BatchSize * 2, c.Size), keep: false);
            }

            for (var round = 0; round < rounds; round++)
            {
                foreach (var c in cases)
                {
                    await c.RunAsync($"r{round}-{Guid.NewGuid():N}", records, keep: true);
                }

                Console.WriteLine($"round {round + 1}/{rounds} done");
            }

            Print(cases, records, rounds);
            return 0;
        }
        finally
        {
            foreach (var d in disposables)
            {
                await d.DisposeAsync();
            }

            Directory.Delete(work, recursive: true);
        }
    }

    private static void Print(List<Case> cases, int records, int rounds)
    {
        Console.WriteLine();
        Console.WriteLine(string.Create(Inv, $"Dedup cost: claim + complete, {records} records x {rounds} rounds per case, {Environment.ProcessorCount} cores; ms per record (a batch's time / {BatchSize})"));
        Console.WriteLine("| store | case | per record median ms | per record p95 ms | per call (claim+finish) median ms | p95 ms | claim call alone median ms | records/s |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (var c in cases)
        {
            var calls = c.CallMs.Order().ToArray();
            var perRecord = calls.Select(ms => ms / c.Size).ToArray();
            var rate = c.Records / (c.CallMs.Sum() / 1000);
            Console.WriteLine(string.Create(Inv, $"| {c.Store} | {c.Name} | {Percentile(perRecord, 0.5):0.00} | {Percentile(perRecord, 0.95):0.00} | {Percentile(calls, 0.5):0.00} | {Percentile(calls, 0.95):0.00} | {Percentile(c.ClaimMs.Order().ToArray(), 0.5):0.00} | {rate:0} |"));
        }

        var transactional = cases.FirstOrDefault(c => c.Name.Contains("Transact", StringComparison.Ordinal));
        var putBatch = cases.FirstOrDefault(c => c.Store == transactional?.Store && c.Name.Contains("PutItems", StringComparison.Ordinal));
        if (transactional is not null && putBatch is not null)
        {
            var ratio = Percentile(transactional.CallMs.Order().ToArray(), 0.5) / Percentile(putBatch.CallMs.Order().ToArray(), 0.5);
            var claimRatio = Percentile(transactional.ClaimMs.Order().ToArray(), 0.5) / Percentile(putBatch.ClaimMs.Order().ToArray(), 0.5);
            var store = (DynamoDbIdempotencyStore)transactional.StoreInstance;
            Console.WriteLine(string.Create(Inv, $"TransactWriteItems / PutItems, batch of {BatchSize} on moto, median claim+complete {ratio:0.00}, claim alone {claimRatio:0.00} ({(ratio < 1 ? "transactions pay" : "transactions do not pay")}); transactions sent {store.Transactions}, keys claimed singly after a cancelled one {store.TransactionFallbacks}"));
        }
    }

    private static async Task<string> BatchTableAsync(IAmazonDynamoDB client, string table)
    {
        var name = table + "-batch";
        await IdempotencyTableSchema.EnsureTableAsync(client, name, NullLogger.Instance, TimeProvider.System, CancellationToken.None);
        return name;
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>One store in one way of calling it; keeps the time of every claim+finish call.</summary>
    private sealed class Case(string store, string name, IIdempotencyStore instance, int size)
    {
        public string Store => store;

        public string Name => name;

        public int Size => size;

        public IIdempotencyStore StoreInstance => instance;

        public List<double> CallMs { get; } = [];

        public List<double> ClaimMs { get; } = [];

        public int Records { get; private set; }

        public async Task RunAsync(string prefix, int records, bool keep)
        {
            var requests = new ClaimRequest[size];
            var finishes = new ClaimFinish[size];
            for (var first = 0; first < records; first += size)
            {
                var now = DateTimeOffset.UtcNow;
                for (var j = 0; j < size; j++)
                {
                    var key = $"{prefix}-{first + j}";
                    requests[j] = new ClaimRequest(key, Owner, now.AddMinutes(5), "m-" + key);
                    finishes[j] = new ClaimFinish(key, Owner, FinishKind.Complete, ResultLocation: $"s3://out/{key}.png");
                }

                var clock = Stopwatch.StartNew();
                var outcomes = await instance.TryClaimAsync(requests, now, CancellationToken.None);
                var claimMs = clock.Elapsed.TotalMilliseconds;
                await instance.FinishAsync(finishes, now, CancellationToken.None);
                var ms = clock.Elapsed.TotalMilliseconds;
                if (outcomes.Any(o => o.Status != ClaimStatus.Claimed))
                {
                    throw new InvalidOperationException($"{store} {name}: a fresh key was not claimed.");
                }

                if (keep)
                {
                    CallMs.Add(ms);
                    ClaimMs.Add(claimMs);
                    Records += size;
                }
            }
        }
    }
}
