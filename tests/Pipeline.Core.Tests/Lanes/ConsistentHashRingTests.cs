using Pipeline.Core.Lanes;

namespace Pipeline.Core.Tests.Lanes;

public sealed class ConsistentHashRingTests
{
    private static readonly string[] Keys = Enumerable.Range(0, 100_000).Select(i => $"job-{i:D6}").ToArray();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(9)]
    [InlineData(31)]
    public void Given_N_lanes_When_one_lane_is_added_Then_about_one_in_N_plus_1_keys_move_and_only_to_the_new_lane(int n)
    {
        var before = new ConsistentHashRing(n);
        var after = new ConsistentHashRing(n + 1);

        int moved = 0;
        foreach (string key in Keys)
        {
            int from = before.GetLane(key);
            int to = after.GetLane(key);
            if (from != to)
            {
                moved++;
                Assert.Equal(n, to); // a key only ever moves to the lane that was added
            }
        }

        double expected = 1.0 / (n + 1);
        double actual = (double)moved / Keys.Length;
        Assert.InRange(actual, expected * 0.8, expected * 1.2);
    }

    [Fact]
    public void Given_10_lanes_When_100000_keys_are_routed_Then_every_lane_is_within_15_percent_of_its_fair_share()
    {
        var ring = new ConsistentHashRing(10);
        var counts = new int[10];
        foreach (string key in Keys)
        {
            counts[ring.GetLane(key)]++;
        }

        double fair = Keys.Length / 10.0;
        Assert.All(counts, c => Assert.InRange(c, fair * 0.85, fair * 1.15));
    }

    [Fact]
    public void Given_a_key_When_routed_twice_by_rings_of_the_same_size_Then_it_lands_in_the_same_lane()
    {
        var a = new ConsistentHashRing(7);
        var b = new ConsistentHashRing(7);
        Assert.All(Keys.Take(1000), k => Assert.Equal(a.GetLane(k), b.GetLane(k)));
    }

    [Theory]
    [InlineData(3, 4)]
    [InlineData(6, 2)]
    [InlineData(5, 5)]
    public void Given_a_resize_When_lanes_losing_keys_are_computed_Then_every_moved_key_left_one_of_them(int from, int to)
    {
        var before = new ConsistentHashRing(from);
        var after = new ConsistentHashRing(to);
        IReadOnlySet<int> losing = before.LanesLosingKeysTo(after);

        var observedLosers = new HashSet<int>();
        foreach (string key in Keys)
        {
            int old = before.GetLane(key);
            if (old != after.GetLane(key))
            {
                observedLosers.Add(old);
            }
        }

        Assert.Subset(losing.ToHashSet(), observedLosers);
        if (to < from)
        {
            // Shrinking: the removed lanes lose keys; a kept lane never does.
            Assert.Equal(Enumerable.Range(to, from - to).ToHashSet(), losing.ToHashSet());
        }

        if (from == to)
        {
            Assert.Empty(losing);
        }
    }

    [Fact]
    public void Given_an_invalid_lane_count_When_building_a_ring_Then_it_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConsistentHashRing(0));
    }
}
