namespace Pipeline.Core.Sources.Embedded;

/// <summary>
/// A snapshot of a message held by an <see cref="EmbeddedQueue"/>, for reports and redrive decisions. Named for its
/// main use: listing what a dead-letter queue holds and why each message failed.
/// </summary>
/// <param name="MessageId">The id given at send; kept across dead-lettering and redrive.</param>
/// <param name="ReceiveCount">How many times it has been received (MaxReceiveCount for a dead letter).</param>
/// <param name="LastError">The failure reason last given with a visibility change, if any.</param>
/// <param name="MovedAt">When it was moved to the dead-letter queue; null unless dead-lettered.</param>
public sealed record DeadLetter(
    string MessageId,
    ReadOnlyMemory<byte> Body,
    IReadOnlyDictionary<string, string> Attributes,
    int ReceiveCount,
    string? LastError,
    DateTimeOffset SentAt,
    DateTimeOffset? MovedAt);
