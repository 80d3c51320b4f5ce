using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Pipeline.Core.Idempotency;

/// <summary>
/// A process-local <see cref="IIdempotencyStore"/>: one lock over a dictionary. It survives nothing, so it suits tests,
/// benchmarks and runs whose source forgets its messages when the process ends anyway.
/// </summary>
/// <remarks>
/// Entries are mutable structs stored in the dictionary and changed in place, so a claim or a finish allocates
/// nothing but the outcome list; records are built only when a caller asks to see one. Times are kept at millisecond
/// precision, as in the SQLite store.
/// </remarks>
public sealed class InMemoryIdempotencyStore : IIdempotencyStore, IJobRecordLookup
{
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>How many records the store holds (completed, failed and in progress).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    public ValueTask<IReadOnlyList<ClaimOutcome>> TryClaimAsync(IReadOnlyList<ClaimRequest> requests, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requests);
        cancellationToken.ThrowIfCancellationRequested();
        var count = requests.Count;
        if (count == 0)
        {
            return new ValueTask<IReadOnlyList<ClaimOutcome>>(Array.Empty<ClaimOutcome>());
        }

        var outcomes = new ClaimOutcome[count];
        var nowMs = ClaimRules.ToUnixMs(now);
        lock (_gate)
        {
            for (var i = 0; i < count; i++)
            {
                var request = requests[i];
                ref var entry = ref CollectionsMarshal.GetValueRefOrAddDefault(_entries, request.Key, out var exists);
                if (!exists || ClaimRules.CanClaim(entry.Status, entry.ExpiryMs, entry.MessageId, nowMs, request.MessageId))
                {
                    entry = Entry.Claim(request, nowMs);
                    outcomes[i] = ClaimOutcome.Won;
                }
                else
                {
                    outcomes[i] = ClaimRules.Blocked(entry.ToRecord(request.Key));
                }
            }
        }

        return new ValueTask<IReadOnlyList<ClaimOutcome>>(outcomes);
    }

    public ValueTask<bool> TryTakeOverAsync(ClaimRequest request, string previousOwner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ref var entry = ref CollectionsMarshal.GetValueRefOrNullRef(_entries, request.Key);
            if (Unsafe.IsNullRef(ref entry) || !entry.IsHeldBy(previousOwner))
            {
                return new ValueTask<bool>(false);
            }

            // A take-over carries no clock; the record keeps its last change time.
            entry = Entry.Claim(request, entry.UpdatedMs) with { JobKey = request.JobKey ?? entry.JobKey };
            return new ValueTask<bool>(true);
        }
    }

    public ValueTask<int> RenewAsync(IReadOnlyList<string> keys, string owner, DateTimeOffset expiry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        cancellationToken.ThrowIfCancellationRequested();
        var expiryMs = ClaimRules.ToUnixMs(expiry);
        var renewed = 0;
        lock (_gate)
        {
            for (var i = 0; i < keys.Count; i++)
            {
                ref var entry = ref CollectionsMarshal.GetValueRefOrNullRef(_entries, keys[i]);
                if (!Unsafe.IsNullRef(ref entry) && entry.IsHeldBy(owner))
                {
                    entry.ExpiryMs = expiryMs;
                    renewed++;
                }
            }
        }

        return new ValueTask<int>(renewed);
    }

    public ValueTask FinishAsync(IReadOnlyList<ClaimFinish> finishes, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(finishes);
        cancellationToken.ThrowIfCancellationRequested();
        ClaimRules.ValidateKinds(finishes);
        var nowMs = ClaimRules.ToUnixMs(now);
        lock (_gate)
        {
            for (var i = 0; i < finishes.Count; i++)
            {
                var finish = finishes[i];
                ref var entry = ref CollectionsMarshal.GetValueRefOrNullRef(_entries, finish.Key);
                if (Unsafe.IsNullRef(ref entry) || !entry.IsHeldBy(finish.Owner))
                {
                    // The claim expired and went to someone else, or was never ours: their work wins.
                    continue;
                }

                switch (finish.Kind)
                {
                    case FinishKind.Complete:
                        entry = new Entry(IdempotencyStatus.Completed, null, 0, entry.MessageId, finish.ResultLocation, null) { JobKey = entry.JobKey, UpdatedMs = nowMs };
                        break;
                    case FinishKind.FailPermanently:
                        // The message id stays: it is what tells a redelivery (fail fast) from a redrive (start fresh).
                        entry = new Entry(IdempotencyStatus.FailedPermanent, null, 0, entry.MessageId, null, finish.FailureReason) { JobKey = entry.JobKey, UpdatedMs = nowMs };
                        break;
                    default:
                        _entries.Remove(finish.Key);
                        break;
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<IdempotencyRecord?> GetAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return new ValueTask<IdempotencyRecord?>(_entries.TryGetValue(key, out var entry) ? entry.ToRecord(key) : null);
        }
    }

    public ValueTask<bool> ClearFailureAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var cleared = _entries.TryGetValue(key, out var entry)
                && entry.Status == IdempotencyStatus.FailedPermanent
                && _entries.Remove(key);
            return new ValueTask<bool>(cleared);
        }
    }

    public ValueTask<IReadOnlyList<IdempotencyRecord>> FindByJobKeyAsync(string jobKey, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobKey);
        cancellationToken.ThrowIfCancellationRequested();
        var found = new List<IdempotencyRecord>();
        lock (_gate)
        {
            foreach (var (key, entry) in _entries)
            {
                if (string.Equals(entry.JobKey, jobKey, StringComparison.Ordinal))
                {
                    found.Add(entry.ToRecord(key));
                }
            }
        }

        return new ValueTask<IReadOnlyList<IdempotencyRecord>>(JobRecordOrder.NewestFirst(found));
    }

    private record struct Entry
    {
        public Entry(IdempotencyStatus status, string? owner, long expiryMs, string? messageId, string? resultLocation, string? failureReason)
        {
            Status = status;
            Owner = owner;
            ExpiryMs = expiryMs;
            MessageId = messageId;
            ResultLocation = resultLocation;
            FailureReason = failureReason;
        }

        public IdempotencyStatus Status;
        public string? Owner;

        /// <summary>Meaningful only while <see cref="IdempotencyStatus.InProgress"/>.</summary>
        public long ExpiryMs;
        public string? MessageId;
        public string? ResultLocation;
        public string? FailureReason;
        public string? JobKey;
        public long UpdatedMs;

        public static Entry Claim(ClaimRequest request, long nowMs) =>
            new(IdempotencyStatus.InProgress, request.Owner, ClaimRules.ToUnixMs(request.Expiry), request.MessageId, null, null) { JobKey = request.JobKey, UpdatedMs = nowMs };

        public readonly bool IsHeldBy(string owner) =>
            Status == IdempotencyStatus.InProgress && string.Equals(Owner, owner, StringComparison.Ordinal);

        public readonly IdempotencyRecord ToRecord(string key) =>
            new(key, Status, Owner, Status == IdempotencyStatus.InProgress ? ClaimRules.FromUnixMs(ExpiryMs) : null, MessageId, ResultLocation, FailureReason)
            {
                JobKey = JobKey,
                UpdatedAt = ClaimRules.FromUnixMs(UpdatedMs),
            };
    }
}
