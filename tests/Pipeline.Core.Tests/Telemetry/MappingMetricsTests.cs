using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Pipeline.Core.Filtering;
using Pipeline.Core.Hosting;
using Pipeline.Core.Invocation;
using Pipeline.Core.Telemetry;
using Pipeline.Core.Tests.Fakes;
using Pipeline.Core.Tests.Hosting;

namespace Pipeline.Core.Tests.Telemetry;

public sealed class MappingMetricsTests
{
    /// <summary>Sums the meter's measurements for one mapping (tests run in parallel, so others are ignored).</summary>
    private sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly string _mapping;

        public Recorder(string mapping)
        {
            _mapping = mapping;
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == MappingMeter.Name)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, value, tags));
            _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) =>
            {
                if (IsMine(tags))
                {
                    Gauges[instrument.Name] = value;
                }
            });
            _listener.Start();
        }

        public ConcurrentDictionary<string, long> Sums { get; } = new();

        public ConcurrentDictionary<string, int> Gauges { get; } = new();

        public long this[string name] => Sums.GetValueOrDefault(name);

        public void Observe() => _listener.RecordObservableInstruments();

        public void Dispose() => _listener.Dispose();

        private void Add(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (IsMine(tags))
            {
                Sums.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value);
            }
        }

        private bool IsMine(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == MappingMeter.MappingTag && Equals(tag.Value, _mapping))
                {
                    return true;
                }
            }

            return false;
        }
    }

    [Fact]
    public async Task Given_successes_failures_filtered_and_duplicate_records_When_the_mapping_runs_Then_the_ESM_counters_come_out_right()
    {
        var kit = new MappingFeatureKit();
        for (int i = 0; i < 10; i++)
        {
            kit.SendJob($"ok-{i}", $"in/{i}.jpg");
        }

        kit.SendJob("ok-0", "in/0.jpg"); // duplicates: acknowledged without running
        kit.SendJob("ok-1", "in/1.jpg");
        kit.SendJob("boom", "in/boom.jpg"); // fails permanently on each of its 5 receives, then the DLQ takes it
        for (int i = 0; i < 3; i++)
        {
            kit.SendJob($"skip-{i}", $"tmp/{i}.jpg"); // matches no filter
        }

        var function = new ScriptedFunction((job, _, _) => job.JobId == "boom"
            ? throw new PermanentJobException("image is truncated")
            : ValueTask.FromResult(new JobOutput(job.Source)));
        MappingOptions options = MappingFeatureKit.Options() with
        {
            Concurrency = 3,
            Filter = FilterCriteria.Create(["""{"body":{"source":[{"prefix":"in/"}]}}"""]),
        };
        using var recorder = new Recorder(options.Name!);
        EventSourceMapping mapping = kit.Mapping(function, options);

        using var stop = new CancellationTokenSource();
        Task run = mapping.RunAsync(stop.Token);
        await Wait.UntilAsync(() =>
        {
            recorder.Observe();
            return recorder.Gauges.ContainsKey(MappingMeter.Concurrency);
        }, "the concurrency gauge");
        await kit.Queue.WaitUntilEmptyAsync(CancellationToken.None).WaitAsync(MappingFeatureKit.Bound);
        await stop.CancelAsync();
        await run.WaitAsync(MappingFeatureKit.Bound);

        Assert.Equal(3, recorder.Gauges[MappingMeter.Concurrency]);
        Assert.Equal(20, recorder[MappingMeter.PolledEventCount]);       // 10 + 2 duplicates + 5 receives of boom + 3 filtered
        Assert.Equal(11, recorder[MappingMeter.InvokedEventCount]);      // 10 jobs + boom once (later receives fail fast)
        Assert.Equal(5, recorder[MappingMeter.FailedInvokeEventCount]);  // boom, once per receive
        Assert.Equal(15, recorder[MappingMeter.DeletedEventCount]);      // 10 succeeded + 2 duplicates + 3 filtered
        Assert.Equal(3, recorder[MappingMeter.FilteredOutEventCount]);

        // The statistics the CLI prints agree with what the meter exported.
        MappingStatistics s = mapping.Statistics;
        Assert.Equal(s.PolledEventCount, recorder[MappingMeter.PolledEventCount]);
        Assert.Equal(s.InvokedEventCount, recorder[MappingMeter.InvokedEventCount]);
        Assert.Equal(s.FailedInvokeEventCount, recorder[MappingMeter.FailedInvokeEventCount]);
        Assert.Equal(s.DeletedEventCount, recorder[MappingMeter.DeletedEventCount]);
        Assert.Equal(s.FilteredOutEventCount, recorder[MappingMeter.FilteredOutEventCount]);
        Assert.Equal(10, s.SucceededEventCount);
        Assert.Equal(2, s.SkippedEventCount);
        Assert.Single(kit.Dlq.PeekAll());

        // Once the run is over, the gauge no longer reports the mapping.
        recorder.Gauges.Clear();
        recorder.Observe();
        Assert.False(recorder.Gauges.ContainsKey(MappingMeter.Concurrency));
    }

    [Fact]
    public void Given_two_mappings_When_they_record_Then_each_measurement_carries_its_own_name()
    {
        string nameA = $"metrics-a-{Guid.NewGuid():N}", nameB = $"metrics-b-{Guid.NewGuid():N}";
        using var recordA = new Recorder(nameA);
        using var recordB = new Recorder(nameB);
        var a = new MappingStatistics(new MappingMetrics(nameA));
        var b = new MappingStatistics(new MappingMetrics(nameB));

        a.AddPolled(7);
        b.AddPolled(2);
        b.AddFilteredOut(2);
        a.Add(ItemOutcome.Retry);
        a.Add(ItemOutcome.Succeeded); // not an ESM failure or deletion by itself: deletion is counted on acknowledgement

        Assert.Equal(7, recordA[MappingMeter.PolledEventCount]);
        Assert.Equal(1, recordA[MappingMeter.FailedInvokeEventCount]);
        Assert.Equal(0, recordA[MappingMeter.DeletedEventCount]);
        Assert.Equal(2, recordB[MappingMeter.PolledEventCount]);
        Assert.Equal(2, recordB[MappingMeter.FilteredOutEventCount]);
        Assert.Equal(0, recordB[MappingMeter.FailedInvokeEventCount]);
        Assert.Throws<ArgumentException>(() => new MappingMetrics(" "));
    }

    [Fact]
    public void Given_a_meter_factory_When_metrics_are_created_Then_instruments_live_on_the_factory_s_meter_once()
    {
        using var factory = new TestMeterFactory();
        var seen = new ConcurrentBag<Instrument>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (factory.Meters.Contains(instrument.Meter))
                {
                    seen.Add(instrument);
                }
            },
        };
        listener.Start();

        _ = new MappingMetrics("one", factory);
        _ = new MappingMetrics("two", factory);

        Meter meter = Assert.Single(factory.Meters.Distinct());
        Assert.Equal(MappingMeter.Name, meter.Name);
        Assert.Equal(9, seen.Count); // seven counters and two gauges, shared by both mappings
        Assert.Contains(seen, i => i.Name == MappingMeter.Concurrency);
        Assert.Contains(seen, i => i.Name == MappingMeter.IteratorAge);
    }

    private sealed class TestMeterFactory : IMeterFactory
    {
        private readonly Dictionary<string, Meter> _meters = [];

        public List<Meter> Meters { get; } = [];

        public Meter Create(MeterOptions options)
        {
            // Like the DI factory: one meter per name.
            if (!_meters.TryGetValue(options.Name, out Meter? meter))
            {
                meter = new Meter(options.Name);
                _meters[options.Name] = meter;
            }

            Meters.Add(meter);
            return meter;
        }

        public void Dispose()
        {
            foreach (Meter meter in _meters.Values)
            {
                meter.Dispose();
            }
        }
    }

    [Fact]
    public void Given_two_shards_observed_When_the_gauge_is_read_Then_IteratorAge_comes_per_shard_and_stops_after_dispose()
    {
        string mapping = $"ages-{Guid.NewGuid():N}";
        var metrics = new MappingMetrics(mapping);
        var ages = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == MappingMeter.Name && instrument.Name == MappingMeter.IteratorAge)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? shard = null;
            bool mine = false;
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                mine |= tag.Key == MappingMeter.MappingTag && Equals(tag.Value, mapping);
                shard = tag.Key == MappingMeter.ShardTag ? tag.Value as string : shard;
            }

            if (mine && shard is not null)
            {
                ages[shard] = value;
            }
        });
        listener.Start();
        long behind = 1500;

        var first = metrics.StartObservingIteratorAge("shardId-000000000000", () => behind);
        using var second = metrics.StartObservingIteratorAge("shardId-000000000001", () => -1);
        listener.RecordObservableInstruments();

        Assert.Equal(1500, ages["shardId-000000000000"]);
        Assert.False(ages.ContainsKey("shardId-000000000001"), "a shard not read yet (-1) reports nothing");

        behind = 0;
        listener.RecordObservableInstruments();
        Assert.Equal(0, ages["shardId-000000000000"]);

        first.Dispose();
        ages.Clear();
        listener.RecordObservableInstruments();
        Assert.Empty(ages);
    }

    [Fact]
    public void Given_dropped_and_delivered_stream_records_When_counted_Then_both_ESM_counters_and_the_statistics_move()
    {
        string mapping = $"drops-{Guid.NewGuid():N}";
        using var recorder = new Recorder(mapping);
        var stats = new MappingStatistics(new MappingMetrics(mapping));

        stats.AddDropped(3);
        stats.AddOnFailureDelivered(3);
        stats.AddDropped(2);

        Assert.Equal(5, stats.DroppedEventCount);
        Assert.Equal(3, stats.OnFailureDestinationDeliveredEventCount);
        Assert.Equal(5, recorder[MappingMeter.DroppedEventCount]);
        Assert.Equal(3, recorder[MappingMeter.OnFailureDestinationDeliveredEventCount]);
    }
}
