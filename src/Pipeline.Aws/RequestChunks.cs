namespace Pipeline.Aws;

/// <summary>
/// Splits items, in order, into the batch requests of an AWS API with a limit on entries and on bytes per request
/// (SendMessageBatch: 10 entries and 1 MiB; PutRecords: 500 records and 5 MiB).
/// </summary>
public static class RequestChunks
{
    /// <summary>The indexes of <paramref name="sizes"/> in consecutive chunks; an item larger than the byte limit goes alone.</summary>
    public static List<int[]> Split(IReadOnlyList<int> sizes, int maxEntries, long maxBytes)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntries, 1);
        var chunks = new List<int[]>((sizes.Count / maxEntries) + 1);
        var current = new List<int>(Math.Min(sizes.Count, maxEntries));
        long bytes = 0;
        for (int i = 0; i < sizes.Count; i++)
        {
            if (current.Count > 0 && (current.Count == maxEntries || bytes + sizes[i] > maxBytes))
            {
                chunks.Add([.. current]);
                current.Clear();
                bytes = 0;
            }

            current.Add(i);
            bytes += sizes[i];
        }

        if (current.Count > 0)
        {
            chunks.Add([.. current]);
        }

        return chunks;
    }
}
