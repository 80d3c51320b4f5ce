namespace Pipeline.Aws.Kinesis.Client;

public static class KinesisClientExtensions
{
    /// <summary>
    /// Every shard of the stream, open and closed, following NextToken the way AWS wants it (token alone). Without
    /// MaxResults the emulators answer in one page: kinesalite 3.3.3 never paginates, and moto 5.2.1 pages only when
    /// asked for fewer than 10,000 (and then wants StreamName with the token).
    /// </summary>
    public static async Task<IReadOnlyList<Shard>> ListAllShardsAsync(this IKinesisClient kinesis, string streamName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(kinesis);
        ArgumentException.ThrowIfNullOrEmpty(streamName);
        var shards = new List<Shard>();
        var page = await kinesis.ListShardsAsync(new ListShardsRequest { StreamName = streamName }, cancellationToken).ConfigureAwait(false);
        shards.AddRange(page.Shards);
        for (var pages = 1; page.NextToken is not null; pages++)
        {
            if (pages >= 10_000)
            {
                throw new KinesisServiceException($"ListShards on stream {streamName} kept returning a NextToken after {pages} pages.");
            }

            page = await kinesis.ListShardsAsync(new ListShardsRequest { NextToken = page.NextToken }, cancellationToken).ConfigureAwait(false);
            shards.AddRange(page.Shards);
        }

        return shards;
    }
}
