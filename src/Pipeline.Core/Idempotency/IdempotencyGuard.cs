namespace Pipeline.Core.Idempotency;

/// <summary>
/// The workflow around a store (Powertools' BasePersistenceStore, without its statics): claim with an expiry,
/// take over claims of owners known dead, renew while work runs, and finish. Time comes from the injected
/// <see cref="TimeProvider"/> only.
/// </summary>
public sealed class IdempotencyGuard
{
    private readonly IIdempotencyStore _store;
    private readonly IOwnerLiveness _liveness;
    private readonly TimeProvider _time;

    public IdempotencyGuard(IIdempotencyStore store, string owner, IOwnerLiveness liveness, TimeProvider timeProvider, TimeSpan lease)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        _store = store;
        Owner = owner;
        _liveness = liveness;
        _time = timeProvider;
        Lease = lease;
    }

    public string Owner { get; }

    public TimeSpan Lease { get; }

    public IIdempotencyStore Store => _store;

    /// <summary>Claims every key without recording job keys (see the overload that takes them).</summary>
    public ValueTask<IReadOnlyList<ClaimOutcome>> ClaimAsync(IReadOnlyList<(string Key, string MessageId)> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var withJobs = new (string Key, string MessageId, string? JobKey)[keys.Count];
        for (int i = 0; i < withJobs.Length; i++)
        {
            withJobs[i] = (keys[i].Key, keys[i].MessageId, null);
        }

        return ClaimAsync(withJobs, cancellationToken);
    }

    /// <summary>
    /// Claims every key in one store call, recording each claim's job key so the job's records can be found by it
    /// (status, DLQ redrive); a claim held by an owner that is certainly dead is taken over at once.
    /// </summary>
    public async ValueTask<IReadOnlyList<ClaimOutcome>> ClaimAsync(IReadOnlyList<(string Key, string MessageId, string? JobKey)> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        DateTimeOffset now = _time.GetUtcNow();
        DateTimeOffset expiry = now + Lease;
        var requests = new ClaimRequest[keys.Count];
        for (int i = 0; i < requests.Length; i++)
        {
            requests[i] = new ClaimRequest(keys[i].Key, Owner, expiry, keys[i].MessageId) { JobKey = keys[i].JobKey };
        }

        IReadOnlyList<ClaimOutcome> outcomes = await _store.TryClaimAsync(requests, now, cancellationToken).ConfigureAwait(false);
        ClaimOutcome[]? adjusted = null;
        for (int i = 0; i < outcomes.Count; i++)
        {
            ClaimOutcome outcome = outcomes[i];
            if (outcome.Status == ClaimStatus.InProgressElsewhere
                && outcome.Existing?.Owner is { } holder
                && holder != Owner
                && _liveness.IsDefinitelyDead(holder)
                && await _store.TryTakeOverAsync(requests[i], holder, cancellationToken).ConfigureAwait(false))
            {
                adjusted ??= [.. outcomes];
                adjusted[i] = ClaimOutcome.Won;
            }
        }

        return adjusted ?? outcomes;
    }

    /// <summary>Pushes the expiry of this owner's live claims one lease ahead.</summary>
    public ValueTask<int> RenewAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) =>
        _store.RenewAsync(keys, Owner, _time.GetUtcNow() + Lease, cancellationToken);

    public ValueTask FinishAsync(IReadOnlyList<ClaimFinish> finishes, CancellationToken cancellationToken) =>
        finishes.Count == 0 ? ValueTask.CompletedTask : _store.FinishAsync(finishes, _time.GetUtcNow(), cancellationToken);

    public ClaimFinish Complete(string key, string? location) => new(key, Owner, FinishKind.Complete, ResultLocation: location);

    public ClaimFinish Fail(string key, string reason) => new(key, Owner, FinishKind.FailPermanently, FailureReason: reason);

    public ClaimFinish Release(string key) => new(key, Owner, FinishKind.Release);
}
