using Pipeline.Core.Sources.Streams;

namespace Pipeline.Core.Tests.Sources.Streams;

public sealed class StreamBatchRulesTests
{
    private static readonly string[] Batch = ["101", "102", "103", "104"];

    [Fact]
    public void Given_a_null_or_empty_failure_list_When_interpreted_Then_the_batch_succeeded()
    {
        Assert.Equal(BatchVerdictKind.Success, StreamBatchRules.Interpret(Batch, null).Kind);
        Assert.Equal(BatchVerdictKind.Success, StreamBatchRules.Interpret(Batch, []).Kind);
    }

    [Fact]
    public void Given_several_failed_records_When_interpreted_Then_the_lowest_sequence_number_is_where_the_retry_starts()
    {
        BatchVerdict verdict = StreamBatchRules.Interpret(Batch, ["104", "102"]);

        Assert.Equal(BatchVerdictKind.PartialFailure, verdict.Kind);
        Assert.Equal("102", verdict.RetryFrom);
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("999")]
    public void Given_an_empty_null_or_foreign_identifier_When_interpreted_Then_the_whole_batch_failed(string? identifier)
    {
        BatchVerdict verdict = StreamBatchRules.Interpret(Batch, ["103", identifier]);

        Assert.Equal(BatchVerdictKind.CompleteFailure, verdict.Kind);
        Assert.Equal("101", verdict.RetryFrom);
        Assert.NotNull(verdict.Reason);
    }

    [Fact]
    public void Given_old_records_When_a_batch_fails_Then_it_is_discarded_for_record_age_before_anything_else()
    {
        FailedBatchDecision decision = StreamBatchRules.OnFailure(0, 4, TimeSpan.FromSeconds(61), -1, TimeSpan.FromSeconds(60), bisect: true);

        Assert.Equal(FailedBatchAction.Discard, decision.Action);
        Assert.Equal(FailedBatchDecision.RecordAgeExceeded, decision.Condition);
    }

    [Fact]
    public void Given_bisect_on_When_a_batch_of_several_fails_Then_it_is_split_without_consuming_a_retry()
    {
        Assert.Equal(FailedBatchAction.Bisect, StreamBatchRules.OnFailure(5, 4, TimeSpan.Zero, 2, null, bisect: true).Action);
        Assert.Equal(FailedBatchAction.Discard, StreamBatchRules.OnFailure(2, 1, TimeSpan.Zero, 2, null, bisect: true).Action);
        (IReadOnlyList<string> first, IReadOnlyList<string> second) = StreamBatchRules.Bisect(["1", "2", "3", "4", "5"]);
        Assert.Equal(["1", "2", "3"], first);
        Assert.Equal(["4", "5"], second);
        Assert.Throws<ArgumentException>(() => StreamBatchRules.Bisect(["1"]));
    }

    [Theory]
    [InlineData(0, 2, FailedBatchAction.Retry)]
    [InlineData(1, 2, FailedBatchAction.Retry)]
    [InlineData(2, 2, FailedBatchAction.Discard)]
    [InlineData(0, 0, FailedBatchAction.Discard)]
    [InlineData(10_000, -1, FailedBatchAction.Retry)]
    public void Given_retries_so_far_When_a_batch_fails_Then_MaximumRetryAttempts_decides(int retries, int maximum, FailedBatchAction expected)
    {
        FailedBatchDecision decision = StreamBatchRules.OnFailure(retries, 1, TimeSpan.Zero, maximum, null, bisect: false);

        Assert.Equal(expected, decision.Action);
        Assert.Equal(expected == FailedBatchAction.Discard ? FailedBatchDecision.RetryAttemptsExhausted : null, decision.Condition);
    }
}
