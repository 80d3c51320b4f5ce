namespace Pipeline.Core.Idempotency;

/// <summary>
/// What both stores must agree on, kept in one place so the in-memory store and the SQLite store cannot drift.
/// </summary>
internal static class ClaimRules
{
    /// <summary>
    /// Times are kept as Unix milliseconds in every store: SQLite stores them so, and the in-memory store does the
    /// same so that a boundary case (expiry and now within one millisecond) decides alike in both.
    /// </summary>
    internal static long ToUnixMs(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    internal static DateTimeOffset FromUnixMs(long unixMs) => DateTimeOffset.FromUnixTimeMilliseconds(unixMs);

    /// <summary>The claim rule of the interface; an expiry equal to now is still live.</summary>
    internal static bool CanClaim(IdempotencyStatus status, long expiryMs, string? messageId, long nowMs, string requestMessageId) =>
        status switch
        {
            IdempotencyStatus.InProgress => expiryMs < nowMs,
            IdempotencyStatus.FailedPermanent => !string.Equals(messageId, requestMessageId, StringComparison.Ordinal),
            _ => false,
        };

    /// <summary>The outcome of a claim that <paramref name="existing"/> blocked.</summary>
    internal static ClaimOutcome Blocked(IdempotencyRecord existing) =>
        existing.Status switch
        {
            IdempotencyStatus.Completed => new ClaimOutcome(ClaimStatus.AlreadyCompleted, existing),
            IdempotencyStatus.FailedPermanent => new ClaimOutcome(ClaimStatus.FailedPermanent, existing),
            _ => new ClaimOutcome(ClaimStatus.InProgressElsewhere, existing),
        };

    /// <summary>
    /// Rejects unknown finish kinds before anything is written, so that a bad batch changes nothing in either store
    /// (SQLite would roll back; the in-memory store has no rollback).
    /// </summary>
    internal static void ValidateKinds(IReadOnlyList<ClaimFinish> finishes)
    {
        for (var i = 0; i < finishes.Count; i++)
        {
            var finish = finishes[i];
            ArgumentNullException.ThrowIfNull(finish, nameof(finishes));
            if (finish.Kind is not (FinishKind.Complete or FinishKind.FailPermanently or FinishKind.Release))
            {
                throw new ArgumentOutOfRangeException(nameof(finishes), finish.Kind, "Unknown finish kind.");
            }
        }
    }
}
