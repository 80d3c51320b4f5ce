using Pipeline.Aws.Kinesis.Leases;

namespace Pipeline.Aws.Tests.Kinesis.Leases;

public sealed class LeaseCoordinatorOptionsTests
{
    [Fact]
    public void GivenOnlyAWorkerId_WhenValidated_ThenTheDefaultsAreKclLike()
    {
        var options = new LeaseCoordinatorOptions { WorkerId = "host-1" }.Validate();

        Assert.Equal(TimeSpan.FromSeconds(10), options.LeaseDuration);
        Assert.Equal(TimeSpan.FromSeconds(10) / 3, options.EffectiveCyclePeriod);
        Assert.True(options.ReleaseOnShutdown);
    }

    [Theory]
    [InlineData("", 10_000, null, "WorkerId")]
    [InlineData("w", 100, null, "LeaseDuration")]
    [InlineData("w", 1000, 1000, "CyclePeriod")]
    [InlineData("w", 1000, 5, "CyclePeriod")]
    public void GivenABadSetting_WhenValidated_ThenItIsNamed(string worker, int durationMs, int? cycleMs, string name)
    {
        var options = new LeaseCoordinatorOptions
        {
            WorkerId = worker,
            LeaseDuration = TimeSpan.FromMilliseconds(durationMs),
            CyclePeriod = cycleMs is { } c ? TimeSpan.FromMilliseconds(c) : null,
        };

        Assert.Equal(name, Assert.Throws<ArgumentException>(() => options.Validate()).ParamName);
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("12a")]
    public void GivenABadCheckpoint_WhenValidated_ThenItIsRejected(string checkpoint) =>
        Assert.Throws<ArgumentException>(() => Checkpoints.Validate(checkpoint, "checkpoint"));

    [Theory]
    [InlineData(Checkpoints.TrimHorizon)]
    [InlineData(Checkpoints.ShardEnd)]
    [InlineData("49590338271490256608559692538361571095921575989136588898")]
    public void GivenAGoodCheckpoint_WhenValidated_ThenItIsReturned(string checkpoint) =>
        Assert.Equal(checkpoint, Checkpoints.Validate(checkpoint, "checkpoint"));
}
