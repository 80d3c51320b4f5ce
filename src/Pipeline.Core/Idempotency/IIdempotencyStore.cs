namespace Pipeline.Core.Idempotency;

/// <summary>The states of an idempotency record.</summary>
public enum IdempotencyStatus
{
    /// <summary>Claimed by <see cref="IdempotencyRecord.Owner"/> until <see cref="IdempotencyRecord.Expiry"/>.</summary>
    InProgress = 1,

    /// <summary>Done; <see cref="IdempotencyRecord.ResultLocation"/> says where the result is.</summary>
    Completed = 2,

    /// <summary>Failed for good; receives of the same message fail fast until a redrive or a changed source.</summary>
    FailedPermanent = 3,
}

/// <summary>A stored idempotency record.</summary>
public sealed record IdempotencyRecord(
    string Key,
    IdempotencyStatus Status,
    string? Owner,
    DateTimeOffset? Expiry,
    string? MessageId,
    string? ResultLocation,
    string? FailureReason)
{
    /// <summary>The job's key (<see cref="Records.Job.Key"/>) the record was claimed for; null for records written before it was kept.</summary>
    public string? JobKey { get; init; }

    /// <summary>When the record last changed (claim or finish); null where a store did not keep it.</summary>
    public DateTimeOffset? UpdatedAt { get; init; }

    /// <summary>
    /// Equality is the claim state (the positional members). <see cref="JobKey"/> and <see cref="UpdatedAt"/> describe
    /// the record and differ between stores (precision, what old records kept), so they are not compared.
    /// </summary>
    public bool Equals(IdempotencyRecord? other) =>
        other is not null
        && Key == other.Key && Status == other.Status && Owner == other.Owner && Expiry == other.Expiry
        && MessageId == other.MessageId && ResultLocation == other.ResultLocation && FailureReason == other.FailureReason;

    public override int GetHashCode() => HashCode.Combine(Key, Status, Owner, Expiry, MessageId, ResultLocation, FailureReason);
}

/// <summary>A request to claim <see cref="Key"/> for <see cref="Owner"/> until <see cref="Expiry"/>.</summary>
public sealed record ClaimRequest(string Key, string Owner, DateTimeOffset Expiry, string MessageId)
{
    /// <summary>
    /// The job's key (<see cref="Records.Job.Key"/>), kept on the record so <see cref="IJobRecordLookup"/> finds every
    /// record of a job whatever its source's identity was. Null = not kept.
    /// </summary>
    public string? JobKey { get; init; }
}

/// <summary>What a claim attempt found.</summary>
public enum ClaimStatus
{
    /// <summary>The caller now owns the key (new, expired, or a permanent failure of another message).</summary>
    Claimed,

    /// <summary>Already completed: skip.</summary>
    AlreadyCompleted,

    /// <summary>A permanent failure of this same message: fail fast.</summary>
    FailedPermanent,

    /// <summary>A live claim of another owner.</summary>
    InProgressElsewhere,
}

/// <summary>The outcome of one claim; <see cref="Existing"/> is the record that blocked it, if any.</summary>
public sealed record ClaimOutcome(ClaimStatus Status, IdempotencyRecord? Existing)
{
    public static ClaimOutcome Won { get; } = new(ClaimStatus.Claimed, null);
}

/// <summary>How a claim ends.</summary>
public enum FinishKind
{
    Complete,
    FailPermanently,

    /// <summary>Delete the claim so a retry (here or elsewhere) can proceed.</summary>
    Release,
}

/// <summary>Ends the claim on <see cref="Key"/>, conditional on <see cref="Owner"/> still holding it.</summary>
public sealed record ClaimFinish(string Key, string Owner, FinishKind Kind, string? ResultLocation = null, string? FailureReason = null);

/// <summary>
/// Raw, conditional CRUD over idempotency records; the <see cref="IdempotencyGuard"/> adds the workflow. The
/// embedded default is SQLite; the DynamoDB store implements the same contract with conditional writes.
/// All operations take "now" from the caller, so no store reads a clock of its own.
/// </summary>
public interface IIdempotencyStore
{
    /// <summary>
    /// Claims each key with one conditional write: it succeeds when no record exists, the record is IN_PROGRESS with
    /// an expiry before <paramref name="now"/>, or it is FAILED_PERMANENT for a different message id. Outcomes come
    /// back in request order. Requests must have distinct keys.
    /// </summary>
    /// <remarks>
    /// An expiry equal to <paramref name="now"/> is still live. A live claim blocks its own owner too: claiming a key
    /// again answers <see cref="ClaimStatus.InProgressElsewhere"/> with the caller's own record. Stores keep times at
    /// millisecond precision.
    /// </remarks>
    ValueTask<IReadOnlyList<ClaimOutcome>> TryClaimAsync(IReadOnlyList<ClaimRequest> requests, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Takes over an IN_PROGRESS claim still held by <paramref name="previousOwner"/> (its process is gone).</summary>
    ValueTask<bool> TryTakeOverAsync(ClaimRequest request, string previousOwner, CancellationToken cancellationToken);

    /// <summary>Extends the expiry of the IN_PROGRESS claims that <paramref name="owner"/> still holds; returns how many.</summary>
    ValueTask<int> RenewAsync(IReadOnlyList<string> keys, string owner, DateTimeOffset expiry, CancellationToken cancellationToken);

    /// <summary>Completes, fails or releases claims, each conditional on the owner still holding it.</summary>
    ValueTask FinishAsync(IReadOnlyList<ClaimFinish> finishes, DateTimeOffset now, CancellationToken cancellationToken);

    ValueTask<IdempotencyRecord?> GetAsync(string key, CancellationToken cancellationToken);

    /// <summary>Deletes a FAILED_PERMANENT record so the job runs again (retry of dead letters, redrive).</summary>
    ValueTask<bool> ClearFailureAsync(string key, CancellationToken cancellationToken);
}

/// <summary>
/// Finds the records of one job. A job has one record per source identity it ran against (the idempotency key is the
/// job's key plus that identity), so status queries and DLQ redrives look records up by the job's key. Kept apart from
/// <see cref="IIdempotencyStore"/> so decorators of the claim path need not implement it.
/// </summary>
public interface IJobRecordLookup
{
    /// <summary>Every record claimed for <paramref name="jobKey"/>, newest change first (records without a change time last).</summary>
    ValueTask<IReadOnlyList<IdempotencyRecord>> FindByJobKeyAsync(string jobKey, CancellationToken cancellationToken);
}

/// <summary>The order every <see cref="IJobRecordLookup"/> returns: newest change first, undated records last, then by key.</summary>
public static class JobRecordOrder
{
    public static IReadOnlyList<IdempotencyRecord> NewestFirst(IEnumerable<IdempotencyRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var list = new List<IdempotencyRecord>(records);
        list.Sort(static (a, b) =>
        {
            int byTime = (b.UpdatedAt ?? DateTimeOffset.MinValue).CompareTo(a.UpdatedAt ?? DateTimeOffset.MinValue);
            return byTime != 0 ? byTime : string.CompareOrdinal(a.Key, b.Key);
        });
        return list;
    }
}
