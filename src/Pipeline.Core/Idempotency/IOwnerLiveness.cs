namespace Pipeline.Core.Idempotency;

/// <summary>
/// Decides whether the owner of a claim is certainly gone, so its claim can be taken over before it expires.
/// </summary>
public interface IOwnerLiveness
{
    /// <summary>
    /// True only when the owner is known to be dead. Any doubt (an owner string it cannot read, another host, a
    /// process it cannot inspect) answers false: a wrong "dead" runs a job twice, a wrong "alive" only waits for expiry.
    /// </summary>
    bool IsDefinitelyDead(string owner);
}
