using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace Pipeline.Core.Telemetry;

/// <summary>
/// One mapping's view onto the shared instruments: every measurement is tagged with the mapping's name, so several
/// mappings in one host share one set of instruments (what exporters expect) yet stay apart.
/// </summary>
/// <remarks>
/// Without an <see cref="IMeterFactory"/> the instruments live on one process-wide <see cref="Meter"/>; with one (a
/// DI host), on the factory's meter of the same name. Instruments are created once per meter, not per mapping.
/// The concurrency gauge reports only mappings between <see cref="StartObserving"/> and disposal of its result.
/// </remarks>
public sealed class MappingMetrics
{
    private static readonly Lazy<Instruments> Shared = new(() => new Instruments(new Meter(MappingMeter.Name)));
    private static readonly ConditionalWeakTable<Meter, Instruments> ByMeter = [];

    private readonly Instruments _instruments;
    private readonly KeyValuePair<string, object?> _tag;

    public MappingMetrics(string mappingName, IMeterFactory? meterFactory = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(mappingName);
        MappingName = mappingName;
        _tag = new(MappingMeter.MappingTag, mappingName);
        _instruments = meterFactory is null
            ? Shared.Value
            : ByMeter.GetValue(meterFactory.Create(new MeterOptions(MappingMeter.Name)), static m => new Instruments(m));
    }

    public string MappingName { get; }

    internal void Polled(long n) => _instruments.Polled.Add(n, _tag);

    internal void Invoked() => _instruments.Invoked.Add(1, _tag);

    internal void FailedInvoke() => _instruments.FailedInvoke.Add(1, _tag);

    internal void Deleted(long n) => _instruments.Deleted.Add(n, _tag);

    internal void FilteredOut(long n) => _instruments.FilteredOut.Add(n, _tag);

    internal void Dropped(long n) => _instruments.Dropped.Add(n, _tag);

    internal void OnFailureDelivered(long n) => _instruments.OnFailureDelivered.Add(n, _tag);

    /// <summary>
    /// Reports a shard's IteratorAge (ms behind the stream's tip, -1 before its first read is skipped) through the
    /// gauge, tagged with the mapping and <see cref="MappingMeter.ShardTag"/>, until the returned handle is disposed.
    /// </summary>
    public IDisposable StartObservingIteratorAge(string shardId, Func<long> millisBehindLatest)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(shardId);
        ArgumentNullException.ThrowIfNull(millisBehindLatest);
        var entry = new AgeEntry([_tag, new(MappingMeter.ShardTag, shardId)], millisBehindLatest);
        _instruments.Ages[entry] = 0;
        return new AgeRegistration(_instruments, entry);
    }

    private sealed record AgeEntry(KeyValuePair<string, object?>[] Tags, Func<long> Read);

    private sealed class AgeRegistration(Instruments instruments, AgeEntry entry) : IDisposable
    {
        public void Dispose() => instruments.Ages.TryRemove(entry, out _);
    }

    /// <summary>Reports <paramref name="concurrency"/> through the gauge until the returned handle is disposed.</summary>
    public IDisposable StartObserving(Func<int> concurrency)
    {
        ArgumentNullException.ThrowIfNull(concurrency);
        var entry = new GaugeEntry(_tag, concurrency);
        _instruments.Live[entry] = 0;
        return new Registration(_instruments, entry);
    }

    private sealed record GaugeEntry(KeyValuePair<string, object?> Tag, Func<int> Read);

    private sealed class Registration(Instruments instruments, GaugeEntry entry) : IDisposable
    {
        public void Dispose() => instruments.Live.TryRemove(entry, out _);
    }

    private sealed class Instruments
    {
        public Instruments(Meter meter)
        {
            const string Unit = "{event}";
            Polled = meter.CreateCounter<long>(MappingMeter.PolledEventCount, Unit, "Records read from the source.");
            Invoked = meter.CreateCounter<long>(MappingMeter.InvokedEventCount, Unit, "Records handed to the function, retries included.");
            FailedInvoke = meter.CreateCounter<long>(MappingMeter.FailedInvokeEventCount, Unit, "Records that failed and went back to the source.");
            Deleted = meter.CreateCounter<long>(MappingMeter.DeletedEventCount, Unit, "Records acknowledged to the source as done.");
            FilteredOut = meter.CreateCounter<long>(MappingMeter.FilteredOutEventCount, Unit, "Records that matched no filter and were deleted without invoking.");
            meter.CreateObservableGauge(MappingMeter.Concurrency, Observe, "{lane}", "Concurrent batches (lanes) of the mapping.");
            Dropped = meter.CreateCounter<long>(MappingMeter.DroppedEventCount, Unit, "Stream records given up on for retry exhaustion or record age.");
            OnFailureDelivered = meter.CreateCounter<long>(MappingMeter.OnFailureDestinationDeliveredEventCount, Unit, "Stream records described to the on-failure destination.");
            meter.CreateObservableGauge(MappingMeter.IteratorAge, ObserveAges, "ms", "How far behind the stream's tip each shard's last read was (MillisBehindLatest).");
        }

        public Counter<long> Polled { get; }

        public Counter<long> Invoked { get; }

        public Counter<long> FailedInvoke { get; }

        public Counter<long> Deleted { get; }

        public Counter<long> FilteredOut { get; }

        public Counter<long> Dropped { get; }

        public Counter<long> OnFailureDelivered { get; }

        public ConcurrentDictionary<GaugeEntry, byte> Live { get; } = new();

        public ConcurrentDictionary<AgeEntry, byte> Ages { get; } = new();

        private IEnumerable<Measurement<long>> ObserveAges()
        {
            foreach (AgeEntry entry in Ages.Keys)
            {
                long age = entry.Read();
                if (age >= 0)
                {
                    yield return new Measurement<long>(age, entry.Tags);
                }
            }
        }

        private IEnumerable<Measurement<int>> Observe()
        {
            foreach (GaugeEntry entry in Live.Keys)
            {
                yield return new Measurement<int>(entry.Read(), entry.Tag);
            }
        }
    }
}
