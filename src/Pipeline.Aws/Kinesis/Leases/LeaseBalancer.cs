namespace Pipeline.Aws.Kinesis.Leases;

/// <summary>What one balancing cycle decided; nothing here has been written yet.</summary>
/// <param name="ToTake">Unowned or expired leases to take now, up to the fair share (parents first).</param>
/// <param name="ToSteal">At most one live lease of the most loaded owner, or null.</param>
/// <param name="FairShare">ceil(active shards / live hosts).</param>
/// <param name="LiveHosts">Owners of non-expired leases, plus this host.</param>
public sealed record LeaseBalancerDecision(IReadOnlyList<Lease> ToTake, Lease? ToSteal, int FairShare, IReadOnlyList<string> LiveHosts);

/// <summary>
/// The decision half of one load-balancing cycle (Azure's PartitionLoadBalancer, KCL's lease taker), with no I/O: it
/// is fed every listing and says what to take and steal.
/// </summary>
/// <remarks>
/// <para>
/// Expiry (KCL's): a lease is expired when its counter has not moved for <see cref="LeaseDuration"/> since this
/// balancer first saw that counter, on this host's <see cref="TimeProvider"/>. A lease seen for the first time counts
/// as fresh, so a new host waits one lease duration before it takes a silent host's shards. Unowned leases are free
/// at once.
/// </para>
/// <para>
/// Rules: finished leases (SHARD_END) are neither counted nor taken. A child is eligible only when every parent's
/// lease is finished or gone. Fair share = ceil(active eligible-or-owned leases / live hosts). Free leases (unowned,
/// or expired and not ours) are taken up to the fair share in one cycle. Only when nothing is free and this host is
/// below its share does it steal, one lease a cycle, from the most loaded owner, and only if that owner is above the
/// share.
/// </para>
/// </remarks>
public sealed class LeaseBalancer
{
    private readonly Dictionary<string, (long Counter, DateTimeOffset Since)> _seen = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public LeaseBalancer(string workerId, TimeSpan leaseDuration, TimeProvider timeProvider)
    {
        DynamoDbLeaseStore.ValidateOwner(workerId, nameof(workerId));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(leaseDuration, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(timeProvider);
        WorkerId = workerId;
        LeaseDuration = leaseDuration;
        _time = timeProvider;
    }

    public string WorkerId { get; }

    public TimeSpan LeaseDuration { get; }

    /// <summary>Whether <paramref name="lease"/> (already passed to <see cref="Decide"/> or <see cref="Observe"/>) is expired as seen from here.</summary>
    public bool IsExpired(Lease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return lease.Owner is not null
            && _seen.TryGetValue(lease.LeaseKey, out var seen)
            && seen.Counter == lease.Counter
            && _time.GetUtcNow() - seen.Since >= LeaseDuration;
    }

    /// <summary>Records the counters of <paramref name="leases"/> (a listing, or this host's own writes).</summary>
    public void Observe(IEnumerable<Lease> leases)
    {
        ArgumentNullException.ThrowIfNull(leases);
        var now = _time.GetUtcNow();
        foreach (var lease in leases)
        {
            if (!_seen.TryGetValue(lease.LeaseKey, out var seen) || seen.Counter != lease.Counter)
            {
                _seen[lease.LeaseKey] = (lease.Counter, now);
            }
        }
    }

    /// <summary>Observes the full listing <paramref name="all"/> and decides this cycle's takes and steal.</summary>
    public LeaseBalancerDecision Decide(IReadOnlyList<Lease> all)
    {
        ArgumentNullException.ThrowIfNull(all);
        Observe(all);
        var byKey = all.ToDictionary(l => l.LeaseKey, StringComparer.Ordinal);
        foreach (var gone in _seen.Keys.Where(k => !byKey.ContainsKey(k)).ToList())
        {
            _seen.Remove(gone);
        }

        bool Eligible(Lease l) => l.ParentShardIds.All(p => !byKey.TryGetValue(p, out var parent) || parent.IsFinished);
        bool Mine(Lease l) => string.Equals(l.Owner, WorkerId, StringComparison.Ordinal);

        var active = all.Where(l => !l.IsFinished && (Eligible(l) || l.Owner is not null)).ToList();
        var live = active.Where(l => l.Owner is not null && !IsExpired(l)).ToList();
        var hosts = live.Select(l => l.Owner!).Append(WorkerId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var fairShare = active.Count == 0 ? 0 : (active.Count + hosts.Length - 1) / hosts.Length;
        var mine = live.Count(Mine);

        var free = active
            .Where(l => Eligible(l) && !Mine(l) && (l.Owner is null || IsExpired(l)))
            .OrderBy(l => l.Owner is null ? 0 : 1)
            .ThenBy(l => l.LeaseKey, StringComparer.Ordinal)
            .ToList();
        var room = Math.Max(0, fairShare - mine);
        if (free.Count > 0)
        {
            return new LeaseBalancerDecision(free.Take(room).ToArray(), null, fairShare, hosts);
        }

        Lease? steal = null;
        if (room > 0)
        {
            var busiest = live
                .Where(l => !Mine(l))
                .GroupBy(l => l.Owner!, StringComparer.Ordinal)
                .OrderByDescending(g => g.Count())
                .ThenBy(g => g.Key, StringComparer.Ordinal)
                .FirstOrDefault();
            if (busiest is not null && busiest.Count() > fairShare)
            {
                steal = busiest.OrderBy(l => l.LeaseKey, StringComparer.Ordinal).First();
            }
        }

        return new LeaseBalancerDecision([], steal, fairShare, hosts);
    }
}
