namespace Pipeline.Core.Idempotency;

/// <summary>Tells whether a claim's owner is certainly gone, so its claim can be taken before it expires.</summary>
public interface IOwnerLiveness
{
    bool IsDefinitelyDead(string owner);
}
