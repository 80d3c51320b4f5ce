namespace Pipeline.Core.Idempotency;

/// <summary>
/// Liveness for owners on this host: on one host, a claim whose owner process is gone can be taken at once, instead
/// of waiting for the expiry a crashed process can no longer renew.
/// </summary>
public sealed class LocalProcessLiveness : IOwnerLiveness
{
    private readonly string _host;

    public LocalProcessLiveness()
        : this(Environment.MachineName)
    {
    }

    /// <param name="host">The name this host's owners carry (see <see cref="OwnerIdentity.Host"/>).</param>
    public LocalProcessLiveness(string host)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        _host = host;
    }

    public bool IsDefinitelyDead(string owner)
    {
        if (!OwnerIdentity.TryParse(owner, out var identity)
            || !string.Equals(identity.Host, _host, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return ProcessStartStamp.Probe(identity.ProcessId, out var startTicks) switch
        {
            ProcessProbe.Gone => true,
            // A different start means the id was reused by a newer process; an unreadable recorded stamp (0) proves nothing.
            ProcessProbe.Running => identity.ProcessStartTicks != 0 && startTicks != identity.ProcessStartTicks,
            _ => false,
        };
    }
}
