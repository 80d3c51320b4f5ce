using Microsoft.Extensions.Time.Testing;
using Pipeline.Cli.Tools;

namespace Pipeline.Cli.Tests.Tools;

/// <summary>The pacing of <c>bgpipe replay --rate</c>, on a fake clock.</summary>
public sealed class RateGateTests
{
    [Fact]
    public async Task Given_a_rate_of_2_per_second_When_three_pairs_ask_to_leave_Then_the_second_waits_1_s_and_the_third_2_s()
    {
        var time = new FakeTimeProvider();
        var gate = new RateGate(2, time);
        Assert.Equal(2, gate.BatchSize(10));

        await gate.WaitAsync(2, CancellationToken.None); // the first pair leaves at once
        Task second = gate.WaitAsync(2, CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(second.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        await second;

        Task third = gate.WaitAsync(2, CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(third.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        await third;
    }

    [Fact]
    public async Task Given_no_rate_When_records_ask_to_leave_Then_they_never_wait_and_batches_are_the_service_limit()
    {
        var gate = new RateGate(null, new FakeTimeProvider());

        Task wait = gate.WaitAsync(500, CancellationToken.None);

        Assert.True(wait.IsCompletedSuccessfully);
        Assert.Equal(500, gate.BatchSize(500));
        await wait;
    }

    [Theory]
    [InlineData(0.5, 1)]
    [InlineData(7.9, 7)]
    [InlineData(1000, 10)]
    public void Given_a_rate_When_asked_for_a_batch_size_Then_it_is_one_second_of_records_within_1_and_the_limit(double rate, int expected) =>
        Assert.Equal(expected, new RateGate(rate, TimeProvider.System).BatchSize(10));

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(double.NaN)]
    public void Given_a_rate_that_is_not_positive_When_a_gate_is_made_Then_it_is_refused(double rate) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new RateGate(rate, TimeProvider.System));
}
