using Pipeline.Aws.Kinesis.Polling;

namespace Pipeline.Aws.Tests.Kinesis.Polling;

public sealed class ShardPollerOptionsTests
{
    private static readonly ShardPollerOptions Valid = new() { StreamName = "jobs", ShardId = "shardId-000000000000" };

    public static TheoryData<string, Func<ShardPollerOptions, ShardPollerOptions>> BadOptions => new()
    {
        { nameof(ShardPollerOptions.StreamName), o => o with { StreamName = " " } },
        { nameof(ShardPollerOptions.StreamArn), o => o with { StreamArn = "" } },
        { nameof(ShardPollerOptions.ShardId), o => o with { ShardId = "" } },
        { nameof(ShardPollerOptions.StartingPosition), o => o with { StartingPosition = (StartingPosition)9 } },
        { nameof(ShardPollerOptions.StartingPositionTimestamp), o => o with { StartingPosition = StartingPosition.AtTimestamp } },
        { nameof(ShardPollerOptions.StartingPositionTimestamp), o => o with { StartingPositionTimestamp = DateTimeOffset.UnixEpoch } },
        { nameof(ShardPollerOptions.Checkpoint), o => o with { Checkpoint = "0123" } },
        { nameof(ShardPollerOptions.Checkpoint), o => o with { Checkpoint = "12a" } },
        { nameof(ShardPollerOptions.BatchSize), o => o with { BatchSize = 0 } },
        { nameof(ShardPollerOptions.BatchSize), o => o with { BatchSize = 10_001 } },
        { nameof(ShardPollerOptions.PollInterval), o => o with { PollInterval = TimeSpan.Zero } },
        { nameof(ShardPollerOptions.MaxCallsPerSecond), o => o with { MaxCallsPerSecond = 6 } },
        { nameof(ShardPollerOptions.MaxCallsPerSecond), o => o with { MaxCallsPerSecond = 0 } },
        { nameof(ShardPollerOptions.RetryBaseDelay), o => o with { RetryBaseDelay = TimeSpan.Zero } },
        { nameof(ShardPollerOptions.RetryMaxDelay), o => o with { RetryMaxDelay = TimeSpan.FromMilliseconds(100) } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Given_a_bad_setting_When_validated_Then_the_error_names_it(string name, Func<ShardPollerOptions, ShardPollerOptions> change)
    {
        var error = Assert.Throws<ArgumentException>(() => change(Valid).Validate());

        Assert.Equal(name, error.ParamName);
        Assert.Contains(name, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_only_the_required_settings_When_validated_Then_the_ESM_defaults_apply()
    {
        var options = Valid.Validate();

        Assert.Equal(StartingPosition.TrimHorizon, options.StartingPosition);
        Assert.Equal(100, options.BatchSize);
        Assert.Equal(TimeSpan.FromSeconds(1), options.PollInterval);
        Assert.Equal(5, options.MaxCallsPerSecond);
        Assert.Null(options.Checkpoint);
        Assert.Equal("jobs", options.SourceIdentity);
    }
}
