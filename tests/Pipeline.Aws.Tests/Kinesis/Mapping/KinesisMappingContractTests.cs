using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Text;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Aws.Kinesis.Leases;
using Pipeline.Aws.Kinesis.Mapping;
using Pipeline.Aws.Tests.Emulators;
using Pipeline.Core.Batching;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Records;
using Pipeline.Core.Sources.Streams;
using Pipeline.Core.Telemetry;
using Pipeline.Testing;
using Pipeline.Testing.Emulators;

namespace Pipeline.Aws.Tests.Kinesis.Mapping;

/// <summary>
/// The Kinesis mapping end to end against real wire servers: the stream on <paramref name="kinesis"/>, the lease table
/// on <paramref name="aws"/>. One subclass per emulator pairing.
/// </summary>
public abstract class KinesisMappingContractTests(EmulatorFixture kinesis, EmulatorFixture aws)
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Cycle = TimeSpan.FromMilliseconds(300);

    /// <summary>One job of a test's plan: its partition key and its index within that key (jobId = key/index).</summary>
    private sealed record Planned(string Key, int Index)
    {
        public string JobId => $"{Key}/{Index.ToString(CultureInfo.InvariantCulture)}";
    }

    [Fact]
    public async Task Given_20000_records_on_1000_keys_in_4_shards_When_mapped_with_ParallelizationFactor_10_Then_each_key_runs_in_order_exactly_once_and_every_shard_checkpoints_its_last_record()
    {
        await using var kit = await KinesisMappingKit.CreateAsync(kinesis, aws, shards: 4);
        var put = await kit.PutInterleavedAsync(keys: 1000, perKey: 20);
        var function = new RecordingFunction();
        var mapping = kit.Mapping("host-a", function, o => o with { ParallelizationFactor = 10, Batching = BatchingOptions.ForKinesis(500) });
        using var stop = new CancellationTokenSource();

        var run = mapping.RunAsync(stop.Token);
        await Wait.UntilAsync(() => run.IsCompleted || function.CallCount >= 20_000, "20,000 calls", TimeSpan.FromSeconds(120));
        await WaitCheckpointedAtLastAsync(kit, LastPerShard(put), run);
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(20_000, function.CallCount);
        Assert.Equal(0, function.Overlaps);
        Assert.Equal(1000, function.Keys.Count);
        Assert.All(function.Keys, key => Assert.Equal(Enumerable.Range(0, 20), function.CallsOf(key)));
        Assert.Equal(20_000, mapping.Statistics.PolledEventCount);
        Assert.Equal(20_000, mapping.Statistics.SucceededEventCount);
        Assert.All(await kit.LeasesAsync(), l => Assert.Null(l.Owner));
    }

    [Fact]
    public async Task Given_a_mapping_stopped_part_way_and_one_checkpoint_lost_When_a_new_worker_maps_the_stream_Then_it_resumes_after_each_checkpoint_skipping_nothing_and_the_shared_guard_lets_no_job_succeed_twice()
    {
        await using var kit = await KinesisMappingKit.CreateAsync(kinesis, aws, shards: 4);
        var plan = Plan(keys: 400, perKey: 20);
        var put = await PutAsync(kit, plan);
        var store = new InMemoryIdempotencyStore();
        Func<KinesisMappingOptions, KinesisMappingOptions> configure = o => o with { ParallelizationFactor = 4, Batching = BatchingOptions.ForKinesis(25) };
        var fa = new RecordingFunction { During = (_, ct) => Task.Delay(2, ct) };
        var a = kit.Mapping("host-a", fa, configure, guard: KinesisMappingKit.Guard(store, "host-a"));
        using (var stopA = new CancellationTokenSource())
        {
            var runA = a.RunAsync(stopA.Token);
            await Wait.UntilAsync(() => runA.IsCompleted || fa.CallCount >= 1500, "host A ran 1,500 jobs", TimeSpan.FromSeconds(60));
            await stopA.CancelAsync();
            await runA.WaitAsync(TimeSpan.FromSeconds(30));
        }

        Assert.InRange(fa.CallCount, 1500, plan.Count - 1);
        var checkpoints = (await kit.LeasesAsync()).ToDictionary(l => l.LeaseKey, StringComparer.Ordinal);
        Console.WriteLine($"DIAG {DateTime.UtcNow:HH:mm:ss.fff} leases " + string.Join(" ", checkpoints.Values.Select(l => $"{l.LeaseKey}:{l.Owner}:{l.Counter}:{l.Checkpoint}")));
        Assert.All(checkpoints.Values, l => Assert.Null(l.Owner));
        var afterCheckpoint = Enumerable.Range(0, plan.Count).Where(i => After(checkpoints[put[i].ShardId!].Checkpoint, put[i].SequenceNumber!)).Select(i => plan[i].JobId).ToHashSet(StringComparer.Ordinal);
        Assert.All(plan.Where(p => !afterCheckpoint.Contains(p.JobId)), p => Assert.Equal(1, fa.Attempts(p.JobId)));
        Assert.NotEmpty(afterCheckpoint);

        // A crash after the function ran but before the checkpoint: one shard's checkpoint goes back to TRIM_HORIZON,
        // so host B reads records host A already ran, and only the shared guard keeps them from running twice.
        var leaseStore = new DynamoDbLeaseStore(kit.DynamoDb, kit.LeaseTable);
        var victim = checkpoints.Values.First(l => SequenceNumbers.IsValid(l.Checkpoint));
        var taken = await leaseStore.TryTakeAsync(victim, "crashed-host", CancellationToken.None);
        var rolledBack = await leaseStore.TryCheckpointAsync(taken!, Checkpoints.TrimHorizon, CancellationToken.None);
        Assert.True(await leaseStore.TryReleaseAsync(rolledBack!, null, CancellationToken.None));
        checkpoints = (await kit.LeasesAsync()).ToDictionary(l => l.LeaseKey, StringComparer.Ordinal);
        afterCheckpoint = Enumerable.Range(0, plan.Count).Where(i => After(checkpoints[put[i].ShardId!].Checkpoint, put[i].SequenceNumber!)).Select(i => plan[i].JobId).ToHashSet(StringComparer.Ordinal);

        var fb = new RecordingFunction();
        var b = kit.Mapping("host-b", fb, configure, guard: KinesisMappingKit.Guard(store, "host-b"));
        using (var stopB = new CancellationTokenSource())
        {
            var runB = b.RunAsync(stopB.Token);
            await WaitCheckpointedAtLastAsync(kit, LastPerShard(put), runB);
            await stopB.CancelAsync();
            await runB.WaitAsync(TimeSpan.FromSeconds(30));
        }

        Assert.All(plan, p => Assert.Equal(1, fa.Attempts(p.JobId) + fb.Attempts(p.JobId)));
        Assert.All(fb.Calls, id => Assert.Contains(id, afterCheckpoint));
        Assert.Equal(afterCheckpoint.Count, b.Statistics.PolledEventCount);
        int finishedByAAboveCheckpoint = afterCheckpoint.Count(id => fa.Attempts(id) > 0);
        Assert.True(finishedByAAboveCheckpoint > 0, "host B re-read nothing host A had run: the shared guard was not put to work");
        Assert.Equal(finishedByAAboveCheckpoint, b.Statistics.SkippedEventCount);
        Assert.Equal(afterCheckpoint.Count - finishedByAAboveCheckpoint, b.Statistics.SucceededEventCount);
        Assert.All(plan.Select(p => p.Key).Distinct(), key => Assert.Equal(Enumerable.Range(0, 20), fa.CallsOf(key).Concat(fb.CallsOf(key))));
    }

    [Fact]
    public async Task Given_two_hosts_sharing_4_shards_When_one_dies_without_releasing_Then_the_other_owns_all_4_once_its_leases_expire_and_processes_what_follows()
    {
        await using var kit = await KinesisMappingKit.CreateAsync(kinesis, aws, shards: 4);
        var store = new InMemoryIdempotencyStore();
        var fa = new RecordingFunction();
        var fb = new RecordingFunction();
        var a = kit.Mapping("host-a", fa, leases: KinesisMappingKit.LeaseOptions("host-a", Lease, Cycle, releaseOnShutdown: false), guard: KinesisMappingKit.Guard(store, "host-a"));
        var b = kit.Mapping("host-b", fb, leases: KinesisMappingKit.LeaseOptions("host-b", Lease, Cycle), guard: KinesisMappingKit.Guard(store, "host-b"));
        using var stopA = new CancellationTokenSource();
        using var stopB = new CancellationTokenSource();
        var runA = a.RunAsync(stopA.Token);
        var runB = await BalanceAsync(kit, a, runA, b, stopB.Token);
        try
        {
            var aShards = a.ProcessingShards;
            await ProcessPhaseAsync(kit, a, fa, b, fb, Plan(keys: 100, perKey: 4), runA, runB);

            await stopA.CancelAsync();
            await runA.WaitAsync(TimeSpan.FromSeconds(30));
            var died = Stopwatch.StartNew();
            Assert.All((await kit.LeasesAsync()).Where(l => aShards.Contains(l.LeaseKey)), l => Assert.Equal("host-a", l.Owner));
            int aCallsAtDeath = fa.CallCount;

            await Wait.UntilAsync(() => runB.IsCompleted || b.ProcessingShards.Count == 4, "host B owns all 4 shards", TimeSpan.FromSeconds(20));
            var takeover = died.Elapsed;

            // Expiry is counted from B's first sight of A's last counter: up to one cycle to see it, one more to act.
            Assert.InRange(takeover, Lease - (2 * Cycle), Lease + (2 * Cycle) + TimeSpan.FromSeconds(1.5));
            Assert.All(await kit.LeasesAsync(), l => Assert.Equal("host-b", l.Owner));

            var after = Plan(keys: 100, perKey: 4, firstIndex: 4);
            await PutAsync(kit, after);
            await Wait.UntilAsync(() => runB.IsCompleted || after.All(p => fb.Attempts(p.JobId) > 0), "host B ran every job put after A died", TimeSpan.FromSeconds(60));
            Assert.Equal(aCallsAtDeath, fa.CallCount);
            Assert.All(after, p => Assert.Equal(1, fb.Attempts(p.JobId)));
        }
        finally
        {
            await stopB.CancelAsync();
            await runB.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public async Task Given_two_hosts_sharing_4_shards_When_one_stops_gracefully_Then_the_other_takes_its_released_leases_within_a_cycle_not_a_lease_duration()
    {
        // A lease duration far above the cycle: a take-over within a few cycles can only come from the release.
        var lease = TimeSpan.FromSeconds(10);
        await using var kit = await KinesisMappingKit.CreateAsync(kinesis, aws, shards: 4);
        var store = new InMemoryIdempotencyStore();
        var fa = new RecordingFunction();
        var fb = new RecordingFunction();
        var a = kit.Mapping("host-a", fa, leases: KinesisMappingKit.LeaseOptions("host-a", lease, Cycle), guard: KinesisMappingKit.Guard(store, "host-a"));
        var b = kit.Mapping("host-b", fb, leases: KinesisMappingKit.LeaseOptions("host-b", lease, Cycle), guard: KinesisMappingKit.Guard(store, "host-b"));
        using var stopA = new CancellationTokenSource();
        using var stopB = new CancellationTokenSource();
        var runA = a.RunAsync(stopA.Token);
        var runB = await BalanceAsync(kit, a, runA, b, stopB.Token);
        try
        {
            var before = Plan(keys: 100, perKey: 4);
            await ProcessPhaseAsync(kit, a, fa, b, fb, before, runA, runB);

            await stopA.CancelAsync();
            await runA.WaitAsync(TimeSpan.FromSeconds(30));
            var stopped = Stopwatch.StartNew();
            Assert.All(await kit.LeasesAsync(), l => Assert.NotEqual("host-a", l.Owner));

            await Wait.UntilAsync(() => runB.IsCompleted || b.ProcessingShards.Count == 4, "host B owns all 4 shards", TimeSpan.FromSeconds(20));
            Assert.InRange(stopped.Elapsed, TimeSpan.Zero, (2 * Cycle) + TimeSpan.FromSeconds(1));

            var after = Plan(keys: 100, perKey: 4, firstIndex: 4);
            await PutAsync(kit, after);
            await Wait.UntilAsync(() => runB.IsCompleted || after.All(p => fb.Attempts(p.JobId) > 0), "host B ran every job put after A stopped", TimeSpan.FromSeconds(60));
            Assert.All(after, p => Assert.Equal(1, fb.Attempts(p.JobId)));
            Assert.All(before.Concat(after), p => Assert.Equal(1, fa.Attempts(p.JobId) + fb.Attempts(p.JobId)));
        }
        finally
        {
            await stopB.CancelAsync();
            await runB.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public virtual async Task Given_a_shard_split_during_the_run_When_keys_have_records_in_the_parent_and_the_children_Then_the_parent_finishes_first_each_key_stays_in_order_and_every_lease_checkpoints()
    {
        await using var kit = await KinesisMappingKit.CreateAsync(kinesis, aws, shards: 1);
        string parent = (await kit.ShardsAsync()).Single().ShardId;

        var (function, leases, childPut) = await ReshardDuringRunAsync(kit, () => kit.SplitInHalfAsync(parent));

        var children = leases.Where(l => l.LeaseKey != parent).ToList();
        Assert.Equal(2, children.Count);
        Assert.All(children, c => Assert.Equal([parent], c.ParentShardIds));
        Assert.Equal(Checkpoints.ShardEnd, leases.Single(l => l.LeaseKey == parent).Checkpoint);
        Assert.Equal(2, childPut.Select(r => r.ShardId).Distinct().Count());
        Assert.All(childPut, r => Assert.NotEqual(parent, r.ShardId));
        AssertParentsFirstAndKeysInOrder(function);
    }

    [Fact]
    public virtual async Task Given_all_4_shards_split_at_once_during_the_run_When_the_4_parents_end_together_Then_the_mapping_keeps_running_and_all_8_children_are_processed_in_key_order()
    {
        await using var kit = await KinesisMappingKit.CreateAsync(kinesis, aws, shards: 4);
        var parents = (await kit.ShardsAsync()).Select(s => s.ShardId).ToArray();

        var (function, leases, childPut) = await ReshardDuringRunAsync(kit, async () =>
        {
            foreach (var parent in parents)
            {
                await kit.SplitInHalfAsync(parent);
            }
        });

        Assert.Equal(12, leases.Count);
        Assert.All(leases.Where(l => parents.Contains(l.LeaseKey)), l => Assert.Equal(Checkpoints.ShardEnd, l.Checkpoint));
        Assert.All(leases.Where(l => !parents.Contains(l.LeaseKey)), l => Assert.Single(l.ParentShardIds, p => parents.Contains(p)));
        Assert.All(childPut, r => Assert.DoesNotContain(r.ShardId, parents));
        AssertParentsFirstAndKeysInOrder(function);
    }

    [Fact]
    public virtual async Task Given_two_shards_merged_during_the_run_When_keys_have_records_in_both_parents_and_the_child_Then_both_parents_finish_first_each_key_stays_in_order_and_every_lease_checkpoints()
    {
        await using var kit = await KinesisMappingKit.CreateAsync(kinesis, aws, shards: 2);
        var parents = (await kit.ShardsAsync()).OrderBy(s => s.ShardId, StringComparer.Ordinal).Select(s => s.ShardId).ToArray();

        var (function, leases, childPut) = await ReshardDuringRunAsync(kit, () => kit.MergeAsync(parents[0], parents[1]));

        var child = leases.Single(l => !parents.Contains(l.LeaseKey));
        Assert.Equal(parents, child.ParentShardIds.Order(StringComparer.Ordinal));
        Assert.All(leases.Where(l => parents.Contains(l.LeaseKey)), l => Assert.Equal(Checkpoints.ShardEnd, l.Checkpoint));
        Assert.All(childPut, r => Assert.Equal(child.LeaseKey, r.ShardId));
        AssertParentsFirstAndKeysInOrder(function);
    }

    [Fact]
    public async Task Given_a_GetRecords_answered_ExpiredIteratorException_mid_run_When_the_shard_is_read_Then_reading_resumes_after_the_last_record_with_none_skipped_or_repeated()
    {
        await using var kit = await KinesisMappingKit.CreateAsync(kinesis, aws, shards: 1);
        var plan = Plan(keys: 50, perKey: 20);
        var put = await PutAsync(kit, plan);
        using var expire = new ExpireOneGetRecords(failCall: 3) { InnerHandler = new SocketsHttpHandler() };
        using var faulty = kit.CreateKinesis(expire);
        var function = new RecordingFunction();
        var mapping = kit.Mapping("host-a", function, o => o with { ParallelizationFactor = 2, Batching = BatchingOptions.ForKinesis(100) }, kinesis: faulty);
        using var stop = new CancellationTokenSource();

        var run = mapping.RunAsync(stop.Token);
        await WaitCheckpointedAtLastAsync(kit, LastPerShard(put), run);
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, expire.Injected);
        Assert.True(expire.GetRecordsCalls > 3, $"only {expire.GetRecordsCalls} GetRecords calls: the failure was not mid-run");
        Assert.Equal(plan.Count, mapping.Statistics.PolledEventCount);
        Assert.All(plan, p => Assert.Equal(1, function.Attempts(p.JobId)));
        Assert.All(function.Keys, key => Assert.Equal(Enumerable.Range(0, 20), function.CallsOf(key)));
    }

    [Fact]
    public async Task Given_two_shards_read_When_IteratorAge_is_observed_Then_the_mapping_and_the_meter_report_a_non_negative_age_per_shard()
    {
        await using var kit = await KinesisMappingKit.CreateAsync(kinesis, aws, shards: 2);
        var shards = (await kit.ShardsAsync()).Select(s => s.ShardId).Order(StringComparer.Ordinal).ToArray();
        var plan = Plan(keys: 50, perKey: 4);
        await PutAsync(kit, plan);
        var function = new RecordingFunction();
        var mapping = kit.Mapping("host-a", function);
        var measured = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == MappingMeter.Name && instrument.Name == MappingMeter.IteratorAge)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? name = null;
            string? shard = null;
            foreach (var tag in tags)
            {
                name = tag.Key == MappingMeter.MappingTag ? tag.Value as string : name;
                shard = tag.Key == MappingMeter.ShardTag ? tag.Value as string : shard;
            }

            if (name == mapping.Name && shard is not null)
            {
                measured[shard] = value;
            }
        });
        listener.Start();
        using var stop = new CancellationTokenSource();

        var run = mapping.RunAsync(stop.Token);
        try
        {
            await Wait.UntilAsync(() => run.IsCompleted || function.CallCount >= plan.Count, "every job ran", TimeSpan.FromSeconds(60));
            await Wait.UntilAsync(() => run.IsCompleted || (mapping.IteratorAges.Count == 2 && mapping.IteratorAges.Values.All(v => v >= 0)), "an age for each shard", TimeSpan.FromSeconds(30));
            await Wait.UntilAsync(
                () =>
                {
                    listener.RecordObservableInstruments();
                    return run.IsCompleted || measured.Count == 2;
                },
                "IteratorAge measured for each shard",
                TimeSpan.FromSeconds(30));

            Assert.Equal(shards, mapping.IteratorAges.Keys.Order(StringComparer.Ordinal));
            Assert.All(mapping.IteratorAges.Values, v => Assert.True(v >= 0, $"IteratorAge {v}"));
            Assert.Equal(shards, measured.Keys.Order(StringComparer.Ordinal));
            Assert.All(measured.Values, v => Assert.True(v >= 0, $"IteratorAge {v}"));
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private static List<Planned> Plan(int keys, int perKey, int firstIndex = 0) =>
        [.. Enumerable.Range(firstIndex, perKey).SelectMany(i => Enumerable.Range(0, keys).Select(k => new Planned($"key-{k}", i)))];

    private static Task<IReadOnlyList<PutRecordsResultEntry>> PutAsync(KinesisMappingKit kit, IEnumerable<Planned> plan) =>
        kit.PutAsync(plan.Select(p => (p.Key, KinesisMappingKit.Body(p.Key, p.Index))));

    private static int IndexOf(string jobId) => int.Parse(jobId[(jobId.LastIndexOf('/') + 1)..], CultureInfo.InvariantCulture);

    private static Dictionary<string, string> LastPerShard(IEnumerable<PutRecordsResultEntry> put) =>
        put.GroupBy(r => r.ShardId!).ToDictionary(g => g.Key, g => g.Select(r => r.SequenceNumber!).Max(Comparer<string>.Create(SequenceNumbers.Compare))!, StringComparer.Ordinal);

    /// <summary>Whether <paramref name="sequenceNumber"/> lies after <paramref name="checkpoint"/> (a sentinel start lies before everything).</summary>
    private static bool After(string checkpoint, string sequenceNumber) =>
        !SequenceNumbers.IsValid(checkpoint) || SequenceNumbers.Compare(sequenceNumber, checkpoint) > 0;

    private static Task WaitCheckpointedAtLastAsync(KinesisMappingKit kit, Dictionary<string, string> lastPerShard, Task run) =>
        Wait.UntilAsync(
            async () => run.IsCompleted || (await kit.LeasesAsync()).Where(l => lastPerShard.ContainsKey(l.LeaseKey)).Count(l => l.Checkpoint == lastPerShard[l.LeaseKey]) == lastPerShard.Count,
            "every shard checkpointed at its last record",
            TimeSpan.FromSeconds(90));

    /// <summary>Starts A alone (it takes all 4 shards), then B, and waits until each processes 2: B steals its share.</summary>
    private static async Task<Task> BalanceAsync(KinesisMappingKit kit, KinesisEventSourceMapping a, Task runA, KinesisEventSourceMapping b, CancellationToken stopB)
    {
        await Wait.UntilAsync(() => runA.IsCompleted || a.ProcessingShards.Count == 4, "host A processes all 4 shards", TimeSpan.FromSeconds(20));
        var runB = b.RunAsync(stopB);
        await Wait.UntilAsync(
            () => runA.IsCompleted || runB.IsCompleted || (a.ProcessingShards.Count == 2 && b.ProcessingShards.Count == 2),
            "2 shards processed by each host",
            TimeSpan.FromSeconds(20));
        Assert.False(runA.IsCompleted || runB.IsCompleted, "a mapping stopped while balancing");
        Assert.Empty(a.ProcessingShards.Intersect(b.ProcessingShards));
        var leases = await kit.LeasesAsync();
        Assert.Equal(a.ProcessingShards, leases.Where(l => l.Owner == "host-a").Select(l => l.LeaseKey).Order(StringComparer.Ordinal));
        Assert.Equal(b.ProcessingShards, leases.Where(l => l.Owner == "host-b").Select(l => l.LeaseKey).Order(StringComparer.Ordinal));
        return runB;
    }

    /// <summary>Puts <paramref name="plan"/> while A and B own 2 shards each: every job runs once, on the host owning its shard.</summary>
    private static async Task ProcessPhaseAsync(
        KinesisMappingKit kit, KinesisEventSourceMapping a, RecordingFunction fa, KinesisEventSourceMapping b, RecordingFunction fb, List<Planned> plan, Task runA, Task runB)
    {
        var aShards = a.ProcessingShards;
        var put = await PutAsync(kit, plan);
        await Wait.UntilAsync(() => runA.IsCompleted || runB.IsCompleted || plan.All(p => fa.Attempts(p.JobId) + fb.Attempts(p.JobId) > 0), "every job ran", TimeSpan.FromSeconds(60));
        Assert.Equal(aShards, a.ProcessingShards);
        for (int i = 0; i < plan.Count; i++)
        {
            var owner = aShards.Contains(put[i].ShardId!) ? fa : fb;
            Assert.Equal(1, owner.Attempts(plan[i].JobId));
            Assert.Equal(1, fa.Attempts(plan[i].JobId) + fb.Attempts(plan[i].JobId));
        }
    }

    /// <summary>
    /// Puts indexes 0-9 of 50 keys, starts the mapping and holds every one of their calls until <paramref name="reshard"/>
    /// has run and indexes 10-19 are put (into the new shards); then waits until every lease is checkpointed at its
    /// end: closed shards at SHARD_END, open ones at their last record.
    /// </summary>
    private static async Task<(RecordingFunction Function, IReadOnlyList<Lease> Leases, IReadOnlyList<PutRecordsResultEntry> ChildPut)> ReshardDuringRunAsync(KinesisMappingKit kit, Func<Task> reshard)
    {
        var parentPhase = Plan(keys: 50, perKey: 10);
        await PutAsync(kit, parentPhase);
        var childrenPut = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var function = new RecordingFunction
        {
            During = (job, ct) => IndexOf(job.JobId!) < 10 ? childrenPut.Task.WaitAsync(ct) : Task.CompletedTask,
        };
        var mapping = kit.Mapping("host-a", function, o => o with { ParallelizationFactor = 4, Batching = BatchingOptions.ForKinesis(100) });
        using var stop = new CancellationTokenSource();
        var run = mapping.RunAsync(stop.Token);
        try
        {
            await Wait.UntilAsync(() => run.IsCompleted || function.CallCount > 0, "the parents' first call", TimeSpan.FromSeconds(30));
            await reshard();
            var childPhase = Plan(keys: 50, perKey: 10, firstIndex: 10);
            var childPut = await PutAsync(kit, childPhase);
            childrenPut.SetResult();

            var open = LastPerShard(childPut);
            await Wait.UntilAsync(
                async () => run.IsCompleted || (await kit.LeasesAsync()) is { } leases
                    && leases.Count == (await kit.ShardsAsync()).Count
                    && leases.All(l => open.TryGetValue(l.LeaseKey, out var last) ? l.Checkpoint == last : l.IsFinished),
                "parents at SHARD_END and children at their last record",
                TimeSpan.FromSeconds(90));
            Assert.False(run.IsCompleted, "the mapping stopped by itself");
            return (function, await kit.LeasesAsync(), childPut);
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private static void AssertParentsFirstAndKeysInOrder(RecordingFunction function)
    {
        var calls = function.Calls;
        Assert.Equal(50 * 20, calls.Count);
        int lastParentCall = calls.Select((id, i) => (id, i)).Where(c => IndexOf(c.id) < 10).Max(c => c.i);
        int firstChildCall = calls.Select((id, i) => (id, i)).Where(c => IndexOf(c.id) >= 10).Min(c => c.i);
        Assert.True(lastParentCall < firstChildCall, $"a child record ran (call {firstChildCall}) before the parents finished (call {lastParentCall})");
        Assert.Equal(0, function.Overlaps);
        Assert.Equal(50, function.Keys.Count);
        Assert.All(function.Keys, key => Assert.Equal(Enumerable.Range(0, 20), function.CallsOf(key)));
    }

    /// <summary>Answers the <c>failCall</c>-th GetRecords with ExpiredIteratorException instead of sending it.</summary>
    private sealed class ExpireOneGetRecords(int failCall) : DelegatingHandler
    {
        private int _calls;
        private int _injected;

        public int GetRecordsCalls => Volatile.Read(ref _calls);

        public int Injected => Volatile.Read(ref _injected);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Headers.TryGetValues("X-Amz-Target", out var targets)
                && targets.Any(t => t.EndsWith(".GetRecords", StringComparison.Ordinal))
                && Interlocked.Increment(ref _calls) == failCall)
            {
                Interlocked.Increment(ref _injected);
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.BadRequest)
                {
                    Content = new StringContent("{\"__type\":\"ExpiredIteratorException\",\"message\":\"Iterator expired\"}", Encoding.UTF8, "application/x-amz-json-1.1"),
                });
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}

/// <summary>kinesalite for the stream, moto_server for the lease table and queues.</summary>
[Collection(KinesisMappingCollections.Kinesalite)]
public sealed class KinesisMappingOnKinesaliteTests(KinesaliteFixture kinesalite, MotoFixture moto) : KinesisMappingContractTests(kinesalite, moto);

/// <summary>moto_server for everything: stream, lease table, queues.</summary>
[Collection(EmulatorCollections.Moto)]
public sealed class KinesisMappingOnMotoTests(MotoFixture moto) : KinesisMappingContractTests(moto, moto)
{
    private const string MotoReshardRouting =
        "moto_server 5.2.1 routes records put after a reshard to the closed parent shard (Stream.get_shard_for_key returns the first shard, open or closed, whose range holds the hash key)";

    [Fact(Skip = MotoReshardRouting)]
    public override Task Given_a_shard_split_during_the_run_When_keys_have_records_in_the_parent_and_the_children_Then_the_parent_finishes_first_each_key_stays_in_order_and_every_lease_checkpoints() => Task.CompletedTask;

    [Fact(Skip = MotoReshardRouting)]
    public override Task Given_all_4_shards_split_at_once_during_the_run_When_the_4_parents_end_together_Then_the_mapping_keeps_running_and_all_8_children_are_processed_in_key_order() => Task.CompletedTask;

    [Fact(Skip = MotoReshardRouting + "; and its MergeShards copies every record of both parents into the child, so each would be read twice")]
    public override Task Given_two_shards_merged_during_the_run_When_keys_have_records_in_both_parents_and_the_child_Then_both_parents_finish_first_each_key_stays_in_order_and_every_lease_checkpoints() => Task.CompletedTask;
}
