namespace Pipeline.Core.Sources.Embedded;

/// <summary>
/// In-flight messages ordered by when they become visible again. Indexed (each message knows its slot) so a delete
/// or a visibility change removes the message at once instead of leaving a tombstone: at a million deletes a second
/// with a 30 s timeout, tombstones would pile up to tens of millions.
/// </summary>
internal sealed class VisibilityHeap
{
    private EmbeddedMessage[] _items = new EmbeddedMessage[16];

    public int Count { get; private set; }

    public EmbeddedMessage Min => _items[0];

    public EmbeddedMessage this[int index] => _items[index];

    public void Add(EmbeddedMessage message)
    {
        if (Count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }

        _items[Count] = message;
        message.HeapIndex = Count;
        Count++;
        SiftUp(message.HeapIndex);
    }

    public void Remove(EmbeddedMessage message)
    {
        int index = message.HeapIndex;
        Count--;
        EmbeddedMessage last = _items[Count];
        _items[Count] = null!;
        message.HeapIndex = -1;
        if (index != Count)
        {
            _items[index] = last;
            last.HeapIndex = index;
            SiftDown(index);
            SiftUp(last.HeapIndex);
        }
    }

    /// <summary>Restores order after the message's deadline changed.</summary>
    public void Update(EmbeddedMessage message)
    {
        SiftUp(message.HeapIndex);
        SiftDown(message.HeapIndex);
    }

    public void Clear()
    {
        Array.Clear(_items, 0, Count);
        Count = 0;
    }

    private static bool Earlier(EmbeddedMessage a, EmbeddedMessage b) =>
        a.VisibleAtTicks < b.VisibleAtTicks || (a.VisibleAtTicks == b.VisibleAtTicks && a.Sequence < b.Sequence);

    private void SiftUp(int index)
    {
        EmbeddedMessage item = _items[index];
        while (index > 0)
        {
            int parent = (index - 1) >> 1;
            EmbeddedMessage p = _items[parent];
            if (!Earlier(item, p))
            {
                break;
            }

            _items[index] = p;
            p.HeapIndex = index;
            index = parent;
        }

        _items[index] = item;
        item.HeapIndex = index;
    }

    private void SiftDown(int index)
    {
        EmbeddedMessage item = _items[index];
        int count = Count;
        while (true)
        {
            int child = (index << 1) + 1;
            if (child >= count)
            {
                break;
            }

            EmbeddedMessage c = _items[child];
            if (child + 1 < count && Earlier(_items[child + 1], c))
            {
                child++;
                c = _items[child];
            }

            if (!Earlier(c, item))
            {
                break;
            }

            _items[index] = c;
            c.HeapIndex = index;
            index = child;
        }

        _items[index] = item;
        item.HeapIndex = index;
    }
}
