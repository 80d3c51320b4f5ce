using Pipeline.Aws.Kinesis.Mapping;
using Pipeline.Aws.Kinesis.Polling;
using Pipeline.Core.Invocation;
using Pipeline.Core.Sources.Streams;

namespace Pipeline.Aws.Tests.Kinesis.Mapping;

public sealed class KinesisMappingOptionsTests
{
    private static readonly KinesisMappingOptions Valid = new() { StreamName = "jobs" };

    public static TheoryData<string, Func<KinesisMappingOptions, KinesisMappingOptions>> BadOptions => new()
    {
        { nameof(KinesisMappingOptions.StreamName), o => o with { StreamName = " " } },
        { nameof(KinesisMappingOptions.Name), o => o with { Name = "" } },
        { nameof(KinesisMappingOptions.ParallelizationFactor), o => o with { ParallelizationFactor = 0 } },
        { nameof(KinesisMappingOptions.ParallelizationFactor), o => o with { ParallelizationFactor = 11 } },
        { nameof(KinesisMappingOptions.StartingPositionTimestamp), o => o with { StartingPosition = StartingPosition.AtTimestamp } },
        { nameof(KinesisMappingOptions.StartingPositionTimestamp), o => o with { StartingPositionTimestamp = DateTimeOffset.UnixEpoch } },
        { nameof(StreamFailureOptions.MaximumRetryAttempts), o => o with { Failure = new StreamFailureOptions { MaximumRetryAttempts = -2 } } },
        { nameof(StreamFailureOptions.MaximumRetryAttempts), o => o with { Failure = new StreamFailureOptions { MaximumRetryAttempts = 10_001 } } },
        { nameof(StreamFailureOptions.MaximumRecordAge), o => o with { Failure = new StreamFailureOptions { MaximumRecordAge = TimeSpan.Zero } } },
        { nameof(StreamFailureOptions.MaximumRecordAge), o => o with { Failure = new StreamFailureOptions { MaximumRecordAge = TimeSpan.FromDays(8) } } },
        { nameof(StreamFailureOptions.RetryBaseDelay), o => o with { Failure = new StreamFailureOptions { RetryBaseDelay = TimeSpan.Zero } } },
        { nameof(StreamFailureOptions.RetryMaxDelay), o => o with { Failure = new StreamFailureOptions { RetryBaseDelay = TimeSpan.FromSeconds(2), RetryMaxDelay = TimeSpan.FromSeconds(1) } } },
        { nameof(InvokerOptions.RetryAttempts), o => o with { Invoker = InvokerOptions.Default with { RetryAttempts = 11 } } },
        { nameof(KinesisMappingOptions.CheckpointInterval), o => o with { CheckpointInterval = TimeSpan.FromMilliseconds(5) } },
        { nameof(KinesisMappingOptions.CheckpointInterval), o => o with { CheckpointInterval = TimeSpan.FromMinutes(2) } },
        { nameof(KinesisMappingOptions.ShardSyncInterval), o => o with { ShardSyncInterval = TimeSpan.FromMilliseconds(50) } },
        { nameof(KinesisMappingOptions.ShardBufferBatches), o => o with { ShardBufferBatches = 0 } },
        { nameof(KinesisMappingOptions.FunctionName), o => o with { FunctionName = "" } },
        { nameof(ShardPollerOptions.PollInterval), o => o with { PollInterval = TimeSpan.Zero } },
        { nameof(ShardPollerOptions.MaxCallsPerSecond), o => o with { MaxGetRecordsCallsPerSecond = 6 } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Given_a_bad_setting_When_validated_Then_the_error_names_it(string name, Func<KinesisMappingOptions, KinesisMappingOptions> change)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => change(Valid).Validate());

        Assert.Equal(name, error.ParamName);
        Assert.Contains(name, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_only_the_stream_When_validated_Then_the_ESM_defaults_apply()
    {
        var options = Valid.Validate();

        Assert.Equal(1, options.ParallelizationFactor);
        Assert.Equal(100, options.Batching.BatchSize);
        Assert.Equal(0, options.Batching.MaximumBatchingWindowInSeconds);
        Assert.Equal(StartingPosition.TrimHorizon, options.StartingPosition);
        Assert.Equal(-1, options.Failure.MaximumRetryAttempts);
        Assert.Null(options.Failure.MaximumRecordAge);
        Assert.False(options.Failure.BisectBatchOnFunctionError);
        Assert.False(options.Failure.ReportBatchItemFailures);
        Assert.Equal(TimeSpan.FromSeconds(1), options.CheckpointInterval);
        Assert.Equal(5, options.MaxGetRecordsCallsPerSecond);
    }

    [Fact]
    public void Given_an_invoker_without_stop_on_first_failure_When_the_effective_invoker_is_read_Then_it_stops_at_the_first_failure_to_keep_key_order()
    {
        var options = Valid with { Invoker = InvokerOptions.Default with { StopOnFirstFailure = false, RetryAttempts = 2 } };

        Assert.True(options.EffectiveInvoker.StopOnFirstFailure);
        Assert.Equal(2, options.EffectiveInvoker.RetryAttempts);
    }

    [Theory]
    [InlineData("TRIM_HORIZON", StartingPosition.TrimHorizon, null)]
    [InlineData("LATEST", StartingPosition.Latest, null)]
    [InlineData("4960000000000000000001", StartingPosition.TrimHorizon, "4960000000000000000001")]
    public void Given_a_lease_checkpoint_When_the_poller_options_are_made_Then_a_sequence_number_resumes_after_it_and_a_sentinel_picks_the_position(
        string leaseCheckpoint, StartingPosition position, string? checkpoint)
    {
        string? sequence = Core.Sources.Streams.SequenceNumbers.IsValid(leaseCheckpoint) ? leaseCheckpoint : null;
        var poller = Valid.PollerOptions("shardId-000000000001", sequence, "arn:aws:kinesis:us-east-1:1:stream/jobs", leaseCheckpoint == "LATEST" ? StartingPosition.Latest : null);

        Assert.Equal(position, poller.StartingPosition);
        Assert.Equal(checkpoint, poller.Checkpoint);
        Assert.Equal("arn:aws:kinesis:us-east-1:1:stream/jobs", poller.SourceIdentity);
        Assert.Equal(100, poller.BatchSize);
    }
}
