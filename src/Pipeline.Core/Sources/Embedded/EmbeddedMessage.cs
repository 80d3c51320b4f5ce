namespace Pipeline.Core.Sources.Embedded;

/// <summary>
/// One message as a queue holds it. Mutable and intrusive (list links, heap slot) so that moving a message between
/// the visible list and the in-flight heap allocates nothing. Only the owning queue touches it, under its lock;
/// a message changes owner (dead-lettering, redrive) only after its old queue has let go of it.
/// </summary>
internal sealed class EmbeddedMessage
{
    public EmbeddedMessage(string id, ReadOnlyMemory<byte> body, IReadOnlyDictionary<string, string> attributes, DateTimeOffset sentAt)
    {
        Id = id;
        Body = body;
        Attributes = attributes;
        SentAt = sentAt;
    }

    public string Id { get; }

    public ReadOnlyMemory<byte> Body { get; }

    public IReadOnlyDictionary<string, string> Attributes { get; }

    public DateTimeOffset SentAt { get; }

    public int ReceiveCount;

    public string? LastError;

    public DateTimeOffset? MovedAt;

    /// <summary>The only handle Delete and ChangeVisibility accept; null until the first receive.</summary>
    public string? ReceiptHandle;

    public bool InFlight;

    /// <summary>UTC ticks when an in-flight message becomes visible again.</summary>
    public long VisibleAtTicks;

    /// <summary>Breaks ties between equal deadlines so that older messages come back first.</summary>
    public long Sequence;

    public int HeapIndex = -1;

    public EmbeddedMessage? Previous;

    public EmbeddedMessage? Next;

    public DeadLetter ToSnapshot() => new(Id, Body, Attributes, ReceiveCount, LastError, SentAt, MovedAt);
}
