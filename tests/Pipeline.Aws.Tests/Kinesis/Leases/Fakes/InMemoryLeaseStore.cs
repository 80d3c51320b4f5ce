using Pipeline.Aws.Kinesis.Leases;

namespace Pipeline.Aws.Tests.Kinesis.Leases.Fakes;

/// <summary>The lease store's conditions in memory, with a switch that makes every call fail as an outage would.</summary>
internal sealed class InMemoryLeaseStore : ILeaseStore
{
    private readonly Dictionary<string, Lease> _leases = new(StringComparer.Ordinal);

    public bool Failing { get; set; }

    public Task<int> CreateIfMissingAsync(IReadOnlyList<NewLease> leases, CancellationToken cancellationToken)
    {
        Check();
        var created = 0;
        foreach (var l in leases)
        {
            if (_leases.TryAdd(l.ShardId, new Lease(l.ShardId, null, 0, l.InitialCheckpoint, l.ParentShardIds, 0)))
            {
                created++;
            }
        }

        return Task.FromResult(created);
    }

    public Task<Lease?> GetAsync(string leaseKey, CancellationToken cancellationToken)
    {
        Check();
        return Task.FromResult(_leases.GetValueOrDefault(leaseKey));
    }

    public Task<IReadOnlyList<Lease>> ListAsync(CancellationToken cancellationToken)
    {
        Check();
        return Task.FromResult<IReadOnlyList<Lease>>([.. _leases.Values.OrderBy(l => l.LeaseKey, StringComparer.Ordinal)]);
    }

    public Task<Lease?> TryTakeAsync(Lease lease, string owner, CancellationToken cancellationToken) =>
        Write(lease, l => l.Counter == lease.Counter, l => l with { Owner = owner, OwnerSwitchesSinceCheckpoint = l.OwnerSwitchesSinceCheckpoint + (l.Owner == owner ? 0 : 1) });

    public Task<Lease?> TryRenewAsync(Lease lease, CancellationToken cancellationToken) =>
        Write(lease, l => l.Owner == lease.Owner && l.Counter == lease.Counter, l => l);

    public Task<Lease?> TryCheckpointAsync(Lease lease, string checkpoint, CancellationToken cancellationToken) =>
        Write(lease, l => l.Owner == lease.Owner, l => l with { Checkpoint = checkpoint, OwnerSwitchesSinceCheckpoint = 0 });

    public async Task<bool> TryReleaseAsync(Lease lease, string? finalCheckpoint, CancellationToken cancellationToken) =>
        await Write(lease, l => l.Owner == lease.Owner, l => l with { Owner = null, Checkpoint = finalCheckpoint ?? l.Checkpoint }) is not null;

    private Task<Lease?> Write(Lease lease, Func<Lease, bool> condition, Func<Lease, Lease> change)
    {
        Check();
        if (!_leases.TryGetValue(lease.LeaseKey, out var current) || !condition(current))
        {
            return Task.FromResult<Lease?>(null);
        }

        var written = change(current) with { Counter = current.Counter + 1 };
        _leases[lease.LeaseKey] = written;
        return Task.FromResult<Lease?>(written);
    }

    private void Check()
    {
        if (Failing)
        {
            throw new LeaseStoreUnavailableException("injected outage");
        }
    }
}
