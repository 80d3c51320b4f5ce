using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;

namespace Pipeline.Aws.Kinesis.Client;

/// <summary>
/// Kinesis routes a record by the MD5 of its UTF-8 partition key read as a 128-bit big-endian unsigned integer: the
/// record goes to the one open shard whose inclusive <see cref="HashKeyRange"/> holds that number.
/// </summary>
public static class KinesisHashing
{
    /// <summary>The hash key Kinesis computes for <paramref name="partitionKey"/> (0 to 2^128 - 1).</summary>
    public static BigInteger HashKey(string partitionKey)
    {
        ArgumentNullException.ThrowIfNull(partitionKey);
        var digest = MD5.HashData(Encoding.UTF8.GetBytes(partitionKey));
        return new BigInteger(digest, isUnsigned: true, isBigEndian: true);
    }

    /// <summary>Whether <paramref name="hashKey"/> lies in <paramref name="range"/> (both ends inclusive).</summary>
    public static bool Contains(HashKeyRange range, BigInteger hashKey)
    {
        ArgumentNullException.ThrowIfNull(range);
        return Parse(range.StartingHashKey, "StartingHashKey") <= hashKey && hashKey <= Parse(range.EndingHashKey, "EndingHashKey");
    }

    /// <summary>
    /// The open shard that a record with <paramref name="partitionKey"/> goes to. Closed shards (split or merged away)
    /// are ignored. Throws when no open shard, or more than one, covers the key: the shard list is incomplete or wrong.
    /// </summary>
    public static Shard ShardFor(string partitionKey, IEnumerable<Shard> shards)
    {
        ArgumentNullException.ThrowIfNull(partitionKey);
        ArgumentNullException.ThrowIfNull(shards);
        var hashKey = HashKey(partitionKey);
        var matches = shards.Where(s => s.IsOpen && Contains(s.HashKeyRange, hashKey)).Take(2).ToList();
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new InvalidOperationException(
                $"No open shard covers partition key '{partitionKey}' (hash key {hashKey}); the shard list is incomplete."),
            _ => throw new InvalidOperationException(
                $"Open shards {matches[0].ShardId} and {matches[1].ShardId} both cover partition key '{partitionKey}' (hash key {hashKey}); the shard list is inconsistent."),
        };
    }

    private static BigInteger Parse(string value, string what) =>
        BigInteger.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed)
            ? parsed
            : throw new FormatException($"{what} '{value}' is not a decimal hash key.");
}
