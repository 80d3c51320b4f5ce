namespace Pipeline.Aws.Kinesis.Leases;

/// <summary>
/// Raw lease CRUD with optimistic concurrency. Every <c>Try*</c> returns null/false when its condition failed (someone
/// else wrote first): an answer, never an exception. Other failures throw <see cref="LeaseStoreUnavailableException"/>,
/// <see cref="LeaseStoreRequestException"/>, <see cref="LeaseTableMissingException"/> or
/// <see cref="LeaseRecordCorruptException"/>; the <see cref="LeaseCoordinator"/> sends them to its one error handler.
/// </summary>
public interface ILeaseStore
{
    /// <summary>Creates an unowned lease (counter 0) for each shard that has none; returns how many it created.</summary>
    Task<int> CreateIfMissingAsync(IReadOnlyList<NewLease> leases, CancellationToken cancellationToken);

    /// <summary>One lease, read consistently; null when it does not exist.</summary>
    Task<Lease?> GetAsync(string leaseKey, CancellationToken cancellationToken);

    /// <summary>All leases, read consistently.</summary>
    Task<IReadOnlyList<Lease>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Makes <paramref name="owner"/> the owner if the counter is still <paramref name="lease"/>'s; the new lease, or null.</summary>
    Task<Lease?> TryTakeAsync(Lease lease, string owner, CancellationToken cancellationToken);

    /// <summary>Moves the counter if <paramref name="lease"/>'s owner still holds it at its counter; the new lease, or null when lost.</summary>
    Task<Lease?> TryRenewAsync(Lease lease, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="checkpoint"/> if <paramref name="lease"/>'s owner still holds it (any counter); moves the counter; the new lease, or null.</summary>
    Task<Lease?> TryCheckpointAsync(Lease lease, string checkpoint, CancellationToken cancellationToken);

    /// <summary>
    /// Graceful hand-off: stores <paramref name="finalCheckpoint"/> (when given) and removes the owner in one conditional
    /// write, if <paramref name="lease"/>'s owner still holds it; false when it did not.
    /// </summary>
    Task<bool> TryReleaseAsync(Lease lease, string? finalCheckpoint, CancellationToken cancellationToken);
}
