namespace Pipeline.Core.Lanes;

/// <summary>
/// A consistent-hash ring with virtual nodes. Lane <c>i</c> always owns the same points whatever the lane count,
/// so going from N to N+1 lanes moves only about 1/(N+1) of the keys, and each key keeps one lane (so its order
/// holds) until the count changes.
/// </summary>
public sealed class ConsistentHashRing
{
    /// <summary>Virtual nodes per lane; 256 keeps every lane within a few percent of its fair share.</summary>
    public const int DefaultVirtualNodes = 256;

    private readonly ulong[] _points;
    private readonly int[] _owners;

    public ConsistentHashRing(int laneCount, int virtualNodesPerLane = DefaultVirtualNodes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(laneCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(virtualNodesPerLane, 1);
        LaneCount = laneCount;
        VirtualNodesPerLane = virtualNodesPerLane;

        int total = laneCount * virtualNodesPerLane;
        _points = new ulong[total];
        _owners = new int[total];
        int n = 0;
        for (int lane = 0; lane < laneCount; lane++)
        {
            for (int v = 0; v < virtualNodesPerLane; v++)
            {
                _points[n] = Mix(((ulong)(uint)lane << 32) | (uint)v);
                _owners[n] = lane;
                n++;
            }
        }

        Array.Sort(_points, _owners);
    }

    public int LaneCount { get; }

    public int VirtualNodesPerLane { get; }

    /// <summary>The lane that owns <paramref name="key"/>.</summary>
    public int GetLane(string key) => LaneCount == 1 ? 0 : OwnerOf(Hash(key));

    /// <summary>
    /// The lanes of this ring that give up at least one key in <paramref name="next"/>. Ownership is constant between
    /// consecutive points of either ring, so checking each point of the union is exact.
    /// </summary>
    public IReadOnlySet<int> LanesLosingKeysTo(ConsistentHashRing next)
    {
        var losing = new HashSet<int>();
        foreach (ulong p in _points)
        {
            Check(p);
        }

        foreach (ulong p in next._points)
        {
            Check(p);
        }

        return losing;

        void Check(ulong point)
        {
            int before = OwnerOf(point);
            if (before != next.OwnerOf(point))
            {
                losing.Add(before);
            }
        }
    }

    private int OwnerOf(ulong hash)
    {
        // First point at or after the hash, wrapping round the ring.
        int i = Array.BinarySearch(_points, hash);
        if (i < 0)
        {
            i = ~i;
        }

        return _owners[i == _points.Length ? 0 : i];
    }

    /// <summary>FNV-1a over the key's UTF-16 code units, then a SplitMix64 finaliser for avalanche.</summary>
    public static ulong Hash(string key)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in key)
        {
            h ^= c;
            h *= 1099511628211UL;
        }

        return Mix(h);
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
