using System.Globalization;
using System.Numerics;
using Pipeline.Aws.Kinesis.Client;

namespace Pipeline.Aws.Tests.Kinesis.Client;

public sealed class KinesisHashingTests
{
    private static readonly BigInteger Max = BigInteger.Pow(2, 128) - 1;
    private static readonly BigInteger Half = BigInteger.Pow(2, 127);

    [Fact]
    public void Given_a_partition_key_When_hashed_Then_it_is_the_big_endian_unsigned_MD5()
    {
        // MD5("a") = 0cc175b9c0f1b6a831c399e269772661; MD5 of "é" is taken over its two UTF-8 bytes.
        Assert.Equal(BigInteger.Parse("00cc175b9c0f1b6a831c399e269772661", NumberStyles.HexNumber, CultureInfo.InvariantCulture), KinesisHashing.HashKey("a"));
        var high = KinesisHashing.HashKey("é");
        Assert.Equal(BigInteger.Parse("0" + Convert.ToHexString(System.Security.Cryptography.MD5.HashData("é"u8)), NumberStyles.HexNumber, CultureInfo.InvariantCulture), high);
        Assert.True(high >= 0 && high <= Max);
    }

    [Fact]
    public void Given_two_open_halves_and_a_closed_parent_When_routing_Then_the_key_goes_to_the_open_half_holding_its_hash()
    {
        var parent = ShardOf("shardId-000000000000", 0, Max, closed: true);
        var low = ShardOf("shardId-000000000001", 0, Half - 1);
        var high = ShardOf("shardId-000000000002", Half, Max);
        Shard[] shards = [parent, low, high];

        foreach (var key in Enumerable.Range(0, 50).Select(i => $"key-{i}"))
        {
            var expected = KinesisHashing.HashKey(key) < Half ? low : high;
            Assert.Same(expected, KinesisHashing.ShardFor(key, shards));
        }
    }

    [Fact]
    public void Given_shards_that_miss_the_key_When_routing_Then_the_error_names_the_key()
    {
        var key = "a"; // hash 0x0cc1... lies in the lower half
        var onlyHigh = new[] { ShardOf("shardId-000000000002", Half, Max) };

        var error = Assert.Throws<InvalidOperationException>(() => KinesisHashing.ShardFor(key, onlyHigh));

        Assert.Contains("'a'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_overlapping_open_shards_When_routing_Then_it_refuses_to_choose()
    {
        var shards = new[] { ShardOf("shardId-1", 0, Max), ShardOf("shardId-2", 0, Max) };

        var error = Assert.Throws<InvalidOperationException>(() => KinesisHashing.ShardFor("a", shards));

        Assert.Contains("shardId-1", error.Message, StringComparison.Ordinal);
    }

    internal static Shard ShardOf(string id, BigInteger start, BigInteger end, bool closed = false) => new()
    {
        ShardId = id,
        HashKeyRange = new HashKeyRange
        {
            StartingHashKey = start.ToString(CultureInfo.InvariantCulture),
            EndingHashKey = end.ToString(CultureInfo.InvariantCulture),
        },
        SequenceNumberRange = new SequenceNumberRange { StartingSequenceNumber = "1", EndingSequenceNumber = closed ? "2" : null },
    };
}
