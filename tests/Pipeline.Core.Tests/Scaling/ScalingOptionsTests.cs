using Pipeline.Core.Scaling;

namespace Pipeline.Core.Tests.Scaling;

public sealed class ScalingOptionsTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(1001)]
    public void Given_MaximumConcurrency_outside_2_to_1000_When_validated_Then_the_error_names_ScalingConfig(int max)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new ScalingOptions { MaximumConcurrency = max }.Validate());
        Assert.Contains("ScalingConfig.MaximumConcurrency must be between 2 and 1,000", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"got {max}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_other_bad_values_When_validated_Then_each_names_its_property()
    {
        Assert.Equal("MinimumConcurrency", Assert.Throws<ArgumentOutOfRangeException>(() => new ScalingOptions { MaximumConcurrency = 4, MinimumConcurrency = 5 }.Validate()).ParamName);
        Assert.Equal("EvaluationPeriod", Assert.Throws<ArgumentOutOfRangeException>(() => new ScalingOptions { EvaluationPeriod = TimeSpan.Zero }.Validate()).ParamName);
        Assert.Equal("IdleBeforeScaleDown", Assert.Throws<ArgumentOutOfRangeException>(() => new ScalingOptions { IdleBeforeScaleDown = TimeSpan.FromSeconds(-1) }.Validate()).ParamName);
        Assert.Equal("MaxIncreasePerMinute", Assert.Throws<ArgumentOutOfRangeException>(() => new ScalingOptions { MaxIncreasePerMinute = 0 }.Validate()).ParamName);
    }

    [Fact]
    public void Given_defaults_When_read_Then_they_are_AWS_s_and_the_start_is_capped_by_the_maximum()
    {
        var options = new ScalingOptions().Validate();
        Assert.False(options.Enabled);
        Assert.Equal(5, options.EffectiveInitialConcurrency);
        Assert.Equal(2, options.MinimumConcurrency);
        Assert.Equal(300, options.MaxIncreasePerMinute);
        Assert.Equal(3, (options with { MaximumConcurrency = 3 }).EffectiveInitialConcurrency);
    }
}
