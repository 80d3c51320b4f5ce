namespace Pipeline.Aws.Tests;

public sealed class RequestChunksTests
{
    [Fact]
    public void Given_23_small_items_When_split_by_10_entries_Then_chunks_of_10_10_3_keep_the_order()
    {
        List<int[]> chunks = RequestChunks.Split(Enumerable.Repeat(5, 23).ToArray(), maxEntries: 10, maxBytes: 1_000);

        Assert.Equal([10, 10, 3], chunks.Select(c => c.Length));
        Assert.Equal(Enumerable.Range(0, 23), chunks.SelectMany(c => c));
    }

    [Fact]
    public void Given_items_that_fill_the_byte_limit_When_split_Then_a_chunk_closes_before_it_would_exceed_it_and_an_oversize_item_goes_alone()
    {
        int[] sizes = [400, 400, 300, 1_500, 100];

        List<int[]> chunks = RequestChunks.Split(sizes, maxEntries: 10, maxBytes: 1_000);

        Assert.Equal([[0, 1], [2], [3], [4]], chunks);
        Assert.All(chunks.Where(c => c.Length > 1), c => Assert.True(c.Sum(i => sizes[i]) <= 1_000));
    }

    [Fact]
    public void Given_no_items_When_split_Then_no_chunks()
    {
        Assert.Empty(RequestChunks.Split([], maxEntries: 10, maxBytes: 1_000));
    }
}
