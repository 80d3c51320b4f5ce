namespace Pipeline.Aws.Kinesis.Leases;

/// <summary>
/// One shard's lease as KCL keeps it: who owns the shard, how far it was processed, and a version that moves on every
/// successful write.
/// </summary>
/// <remarks>
/// Expiry is KCL's, not a timestamp: a lease is expired when its <see cref="Counter"/> has not moved for the lease
/// duration as observed by the host looking at it (see <see cref="LeaseBalancer"/>). The owner proves it is alive by
/// bumping the counter (renew, checkpoint); no clocks of different hosts are ever compared.
/// </remarks>
/// <param name="LeaseKey">The shard id, the table's key.</param>
/// <param name="Owner">The worker id that holds the lease; null when nobody does (new, or released).</param>
/// <param name="Counter">The version (KCL's leaseCounter): incremented by every take, renew, checkpoint and release.</param>
/// <param name="Checkpoint">A sequence number, or one of the sentinels in <see cref="Checkpoints"/>.</param>
/// <param name="ParentShardIds">The shards this one was split or merged from; processed first.</param>
/// <param name="OwnerSwitchesSinceCheckpoint">How often the owner changed since the last checkpoint (a stuck shard shows here).</param>
public sealed record Lease(
    string LeaseKey,
    string? Owner,
    long Counter,
    string Checkpoint,
    IReadOnlyList<string> ParentShardIds,
    long OwnerSwitchesSinceCheckpoint)
{
    /// <summary>Whether the shard was read to its end (its children may start).</summary>
    public bool IsFinished => Checkpoints.IsShardEnd(Checkpoint);
}

/// <summary>A lease to create when it is missing: a shard, its parents, and where to start reading it.</summary>
/// <param name="ShardId">The shard id.</param>
/// <param name="ParentShardIds">Its parents (empty for an original shard).</param>
/// <param name="InitialCheckpoint">Where a new lease starts: a sentinel of <see cref="Checkpoints"/> or a sequence number.</param>
public sealed record NewLease(string ShardId, IReadOnlyList<string> ParentShardIds, string InitialCheckpoint);

/// <summary>KCL's checkpoint sentinels, stored in place of a sequence number.</summary>
public static class Checkpoints
{
    /// <summary>Start at the oldest record still in the shard.</summary>
    public const string TrimHorizon = "TRIM_HORIZON";

    /// <summary>Start after the newest record.</summary>
    public const string Latest = "LATEST";

    /// <summary>Start at the mapping's StartingPositionTimestamp.</summary>
    public const string AtTimestamp = "AT_TIMESTAMP";

    /// <summary>The shard was read to its end; its children may start.</summary>
    public const string ShardEnd = "SHARD_END";

    public static bool IsShardEnd(string? checkpoint) => string.Equals(checkpoint, ShardEnd, StringComparison.Ordinal);

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="checkpoint"/> is a sentinel or a decimal sequence number.</summary>
    public static string Validate(string? checkpoint, string parameterName)
    {
        if (checkpoint is TrimHorizon or Latest or AtTimestamp or ShardEnd)
        {
            return checkpoint;
        }

        if (string.IsNullOrEmpty(checkpoint) || checkpoint.Length > 128 || !checkpoint.All(char.IsAsciiDigit))
        {
            throw new ArgumentException(
                $"A checkpoint must be a decimal sequence number or one of {TrimHorizon}, {Latest}, {AtTimestamp}, {ShardEnd}; got '{checkpoint}'.",
                parameterName);
        }

        return checkpoint;
    }
}
