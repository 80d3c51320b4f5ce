using Pipeline.Core.Filtering;
using Pipeline.Core.Hosting;
using Pipeline.Core.Tests.Fakes;

namespace Pipeline.Core.Tests.Hosting;

public sealed class EventSourceMappingFilterTests
{
    private readonly MappingFeatureKit _kit = new();

    [Fact]
    public async Task Given_FilterCriteria_When_the_mapping_runs_Then_non_matching_records_are_deleted_uninvoked_and_counted()
    {
        for (int i = 0; i < 20; i++)
        {
            _kit.SendJob($"keep-{i}", $"in/{i}.jpg");
        }

        for (int i = 0; i < 7; i++)
        {
            _kit.SendJob($"drop-{i}", $"tmp/{i}.jpg");
        }

        _kit.Send("plain text, not a job"); // a JSON filter never matches a plain-string body
        var function = new ScriptedFunction();
        EventSourceMapping mapping = _kit.Mapping(function, MappingFeatureKit.Options() with
        {
            Filter = FilterCriteria.Create(["""{"body":{"source":[{"prefix":"in/"}]}}"""]),
        });

        await _kit.RunUntilEmptyAsync(mapping);

        Assert.Equal(20, function.CallsByKey.Count);
        Assert.All(function.CallsByKey.Keys, k => Assert.StartsWith("keep-", k, StringComparison.Ordinal));
        Assert.Equal(28, mapping.Statistics.PolledEventCount);
        Assert.Equal(8, mapping.Statistics.FilteredOutEventCount);
        Assert.Equal(28, mapping.Statistics.DeletedEventCount);
        Assert.Empty(_kit.Dlq.PeekAll()); // deleted, not failed: nothing reaches the DLQ
        Assert.True(_kit.Queue.IsEmpty);
    }

    [Fact]
    public async Task Given_a_filter_that_matches_nothing_When_the_mapping_runs_Then_every_record_is_deleted_and_the_function_never_runs()
    {
        for (int i = 0; i < 35; i++)
        {
            _kit.SendJob($"j-{i}");
        }

        var function = new ScriptedFunction();
        EventSourceMapping mapping = _kit.Mapping(function, MappingFeatureKit.Options() with
        {
            Filter = FilterCriteria.Create(["""{"body":{"output":["mask"]}}""", """{"body":{"jobId":[{"prefix":"x"}]}}"""]),
        });

        await _kit.RunUntilEmptyAsync(mapping);

        Assert.Equal(0, function.TotalCalls);
        Assert.Equal(35, mapping.Statistics.FilteredOutEventCount);
        Assert.Equal(35, mapping.Statistics.DeletedEventCount);
        Assert.Equal(0, mapping.Statistics.BatchCount);
    }
}
