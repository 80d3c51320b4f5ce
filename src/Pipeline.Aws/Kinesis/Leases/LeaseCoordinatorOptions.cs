namespace Pipeline.Aws.Kinesis.Leases;

/// <summary>Settings of a <see cref="LeaseCoordinator"/>; immutable, checked by <see cref="Validate"/>.</summary>
public sealed record LeaseCoordinatorOptions
{
    /// <summary>This host's owner name in the table; required, 1 to 256 characters (e.g. host name + process id).</summary>
    public required string WorkerId { get; init; }

    /// <summary>How long a lease whose counter does not move stays someone else's; default 10 s (KCL's failoverTime), 200 ms to 1 h.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The balancing cycle (renew, list, take, steal); default null = a third of <see cref="LeaseDuration"/>. Must be below it.</summary>
    public TimeSpan? CyclePeriod { get; init; }

    /// <summary>
    /// Whether <see cref="LeaseCoordinator.RunAsync"/> releases its leases (after the final checkpoint) when it stops;
    /// default true. False leaves them to expire, as a crashed host would.
    /// </summary>
    public bool ReleaseOnShutdown { get; init; } = true;

    /// <summary>The cycle period in effect.</summary>
    public TimeSpan EffectiveCyclePeriod => CyclePeriod ?? LeaseDuration / 3;

    /// <summary>Returns these options, or throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public LeaseCoordinatorOptions Validate()
    {
        DynamoDbLeaseStore.ValidateOwner(WorkerId, nameof(WorkerId));
        if (LeaseDuration < TimeSpan.FromMilliseconds(200) || LeaseDuration > TimeSpan.FromHours(1))
        {
            throw new ArgumentException($"{nameof(LeaseDuration)} must be 200 ms to 1 hour, got {LeaseDuration}.", nameof(LeaseDuration));
        }

        if (CyclePeriod is { } period && (period < TimeSpan.FromMilliseconds(10) || period >= LeaseDuration))
        {
            throw new ArgumentException($"{nameof(CyclePeriod)} must be at least 10 ms and below {nameof(LeaseDuration)} ({LeaseDuration}), got {period}.", nameof(CyclePeriod));
        }

        return this;
    }
}
