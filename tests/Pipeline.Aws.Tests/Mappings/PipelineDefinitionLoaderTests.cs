using Pipeline.Aws.Mappings;
using Pipeline.Core.Batching;
using Pipeline.Core.Lanes;
using Pipeline.Testing;

namespace Pipeline.Aws.Tests.Mappings;

public sealed class PipelineDefinitionLoaderTests
{
    public static TheoryData<string> RepositoryPipelines()
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.GetFiles(RepositoryRoot.Combine("pipelines"), "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    private static PipelineDefinition Sqs(string properties, string function = "") => PipelineDefinitionLoader.Parse(
        $"{function}Events:\n  JobsQueue:\n    Type: SQS\n    Properties:\n{Indent(properties)}", "test.yaml");

    private static PipelineDefinition Kinesis(string properties) => PipelineDefinitionLoader.Parse(
        $"Events:\n  JobsStream:\n    Type: Kinesis\n    Properties:\n{Indent(properties)}", "test.yaml");

    private static string Indent(string properties) => string.Concat(properties.Split('\n').Select(l => $"      {l}\n"));

    private static MappingError SingleError(Func<PipelineDefinition> parse)
    {
        var ex = Assert.Throws<MappingDefinitionException>(parse);
        return Assert.Single(ex.Errors);
    }

    [Theory]
    [MemberData(nameof(RepositoryPipelines))]
    public void Given_a_file_in_pipelines_When_loaded_Then_it_is_valid_and_has_events(string file)
    {
        PipelineDefinition definition = PipelineDefinitionLoader.LoadFile(RepositoryRoot.Combine("pipelines", file));

        Assert.NotEmpty(definition.Events);
        Assert.All(definition.Events, e => Assert.True(e.BatchSize >= 1));
    }

    [Fact]
    public void Given_sqs_backlog_yaml_When_loaded_Then_its_values_are_read()
    {
        PipelineDefinition definition = PipelineDefinitionLoader.LoadFile(RepositoryRoot.Combine("pipelines", "sqs-backlog.yaml"));

        SqsEventDefinition jobs = Assert.Single(definition.SqsEvents);
        Assert.Equal("JobsQueue", jobs.Name);
        Assert.Equal(ReferenceKind.Name, jobs.Queue.Kind);
        Assert.Equal("t1-jobs", jobs.Queue.ResolveName("t1-"));
        Assert.True(jobs.ReportBatchItemFailures);
        Assert.Equal(50, jobs.MaximumConcurrency);
        Assert.Equal(["{\"body\": {\"output\": [\"cutout\", \"mask\"]}}", "{\"body\": {\"output\": [{\"exists\": false}]}}"], jobs.FilterCriteria.Patterns);
        Assert.Equal(60, definition.Function.TimeoutSeconds);
        Assert.Equal(["bgpipe-input", "bgpipe-output"], definition.Function.Buckets);
    }

    [Fact]
    public void Given_only_a_queue_When_parsed_Then_the_AWS_defaults_apply()
    {
        PipelineDefinition definition = Sqs("Queue: jobs");

        SqsEventDefinition e = Assert.Single(definition.SqsEvents);
        Assert.Equal(10, e.BatchSize);
        Assert.Equal(0, e.MaximumBatchingWindowInSeconds);
        Assert.False(e.ReportBatchItemFailures);
        Assert.Null(e.MaximumConcurrency);
        Assert.True(e.FilterCriteria.IsEmpty);
        Assert.True(e.Enabled);
        Assert.False(e.IsFifo);
        Assert.Equal(FunctionDefinition.DefaultTimeoutSeconds, definition.Function.TimeoutSeconds);
        Assert.Equal("idempotency", definition.Function.IdempotencyTable);
    }

    [Fact]
    public void Given_a_kinesis_event_with_only_the_required_properties_When_parsed_Then_the_AWS_defaults_apply()
    {
        KinesisEventDefinition e = Assert.Single(Kinesis("Stream: jobs-stream\nStartingPosition: LATEST").KinesisEvents);

        Assert.Equal(StartingPosition.Latest, e.StartingPosition);
        Assert.Equal(100, e.BatchSize);
        Assert.Equal(0, e.MaximumBatchingWindowInSeconds);
        Assert.Equal(1, e.ParallelizationFactor);
        Assert.False(e.BisectBatchOnFunctionError);
        Assert.Equal(-1, e.MaximumRetryAttempts);
        Assert.Equal(-1, e.MaximumRecordAgeInSeconds);
        Assert.Null(e.OnFailure);
        Assert.Null(e.TumblingWindowInSeconds);
        Assert.Null(e.StartingPositionTimestamp);
    }

    [Fact]
    public void Given_every_kinesis_property_When_parsed_Then_each_is_kept()
    {
        KinesisEventDefinition e = Assert.Single(Kinesis(
            "Stream: arn:aws:kinesis:us-east-1:123456789012:stream/jobs\nStartingPosition: AT_TIMESTAMP\nStartingPositionTimestamp: 1700000000.5\n" +
            "BatchSize: 500\nMaximumBatchingWindowInSeconds: 5\nParallelizationFactor: 10\nBisectBatchOnFunctionError: true\nMaximumRetryAttempts: 10000\n" +
            "MaximumRecordAgeInSeconds: 604800\nDestinationConfig: { OnFailure: { Type: SQS, Destination: 'arn:aws:sqs:us-east-1:123456789012:failures' } }\n" +
            "FunctionResponseTypes: [ReportBatchItemFailures]\nTumblingWindowInSeconds: 900\nEnabled: false").KinesisEvents);

        Assert.Equal("jobs", e.Stream.ResourceName);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_500), e.StartingPositionTimestamp);
        Assert.Equal((500, 5, 10, true, 10000, 604800, 900, false), (e.BatchSize, e.MaximumBatchingWindowInSeconds, e.ParallelizationFactor, e.BisectBatchOnFunctionError, e.MaximumRetryAttempts, e.MaximumRecordAgeInSeconds, e.TumblingWindowInSeconds!.Value, e.Enabled));
        Assert.Equal("failures", e.OnFailure!.Destination.ResourceName);
        Assert.Equal("SQS", e.OnFailure.Type);
        Assert.True(e.ReportBatchItemFailures);
        Assert.Equal(20, e.ToMappingOptions(shardCount: 2).Concurrency);
        Assert.Equal(LaneKeySource.PartitionKey, e.ToMappingOptions(shardCount: 2).LaneKey);
    }

    [Theory]
    // Unknown properties at every level, with a suggestion when one is close.
    [InlineData("Queue: jobs\nBachSize: 10", "Events.JobsQueue.Properties.BachSize", "unknown property; did you mean BatchSize?", 6)]
    [InlineData("Queue: jobs\nbatchSize: 10", "Events.JobsQueue.Properties.batchSize", "did you mean BatchSize?", 6)]
    [InlineData("Queue: jobs\nScalingConfig:\n  MaximumConcurency: 5", "Events.JobsQueue.Properties.ScalingConfig.MaximumConcurency", "unknown property; did you mean MaximumConcurrency?", 7)]
    [InlineData("Queue: jobs\nFilterCriteria:\n  Filters:\n    - Patern: '{}'", "Events.JobsQueue.Properties.FilterCriteria.Filters[0].Patern", "did you mean Pattern?", 8)]
    [InlineData("Queue: jobs\nColour: red", "Events.JobsQueue.Properties.Colour", "unknown property; expected one of", 6)]
    [InlineData("Queue: jobs\nParallelizationFactor: 2", "Events.JobsQueue.Properties.ParallelizationFactor", "applies to Kinesis, not SQS", 6)]
    [InlineData("Queue: jobs\nDestinationConfig: {}", "Events.JobsQueue.Properties.DestinationConfig", "dead-letter queue", 6)]
    // Out of range, naming the allowed range.
    [InlineData("Queue: jobs\nBatchSize: 10001\nMaximumBatchingWindowInSeconds: 1", "Events.JobsQueue.Properties.BatchSize", "must be between 1 and 10,000 for a standard queue; got 10001", 6)]
    [InlineData("Queue: jobs\nBatchSize: 0", "Events.JobsQueue.Properties.BatchSize", "must be between 1 and 10,000", 6)]
    [InlineData("Queue: jobs\nMaximumBatchingWindowInSeconds: 301", "Events.JobsQueue.Properties.MaximumBatchingWindowInSeconds", "must be between 0 and 300; got 301", 6)]
    [InlineData("Queue: jobs\nScalingConfig: { MaximumConcurrency: 1 }", "Events.JobsQueue.Properties.ScalingConfig.MaximumConcurrency", "must be between 2 and 1,000; got 1", 6)]
    [InlineData("Queue: jobs\nScalingConfig: { MaximumConcurrency: 1001 }", "Events.JobsQueue.Properties.ScalingConfig.MaximumConcurrency", "must be between 2 and 1,000; got 1001", 6)]
    // Window rule and FIFO rules.
    [InlineData("Queue: jobs\nBatchSize: 11", "Events.JobsQueue.Properties.MaximumBatchingWindowInSeconds", "must be at least 1 (up to 300) when BatchSize is over 10 (BatchSize 11); got 0", 6)]
    [InlineData("Queue: jobs.fifo\nBatchSize: 11\nMaximumBatchingWindowInSeconds: 0", "Events.JobsQueue.Properties.BatchSize", "must be between 1 and 10 for a FIFO queue; got 11", 6)]
    [InlineData("Queue: jobs.fifo\nMaximumBatchingWindowInSeconds: 5", "Events.JobsQueue.Properties.MaximumBatchingWindowInSeconds", "is not supported for FIFO queues", 6)]
    // Wrong types.
    [InlineData("Queue: jobs\nBatchSize: ten", "Events.JobsQueue.Properties.BatchSize", "expected an integer from 1 to 10,000 for a standard queue, got 'ten'", 6)]
    [InlineData("Queue: jobs\nBatchSize: [1]", "Events.JobsQueue.Properties.BatchSize", "expected an integer, got a list", 6)]
    [InlineData("Queue: jobs\nEnabled: maybe", "Events.JobsQueue.Properties.Enabled", "expected true or false, got 'maybe'", 6)]
    [InlineData("Queue: jobs\nFunctionResponseTypes: ReportBatchItemFailures", "Events.JobsQueue.Properties.FunctionResponseTypes", "expected a list", 6)]
    [InlineData("Queue: jobs\nFunctionResponseTypes: [ReportItemFailures]", "Events.JobsQueue.Properties.FunctionResponseTypes[0]", "must be ReportBatchItemFailures; got 'ReportItemFailures'", 6)]
    [InlineData("Queue: jobs\nScalingConfig: 5", "Events.JobsQueue.Properties.ScalingConfig", "expected a mapping of properties, got '5'", 6)]
    [InlineData("Queue: jobs\nBatchSize:", "Events.JobsQueue.Properties.BatchSize", "has no value", 6)]
    // Queue references and filters.
    [InlineData("BatchSize: 5", "Events.JobsQueue.Properties.Queue", "is required", 5)]
    [InlineData("Queue: arn:aws:sns:us-east-1:1:topic", "Events.JobsQueue.Properties.Queue", "is not a valid ARN here; expected arn:aws:sqs:REGION:ACCOUNT:NAME", 5)]
    [InlineData("Queue: 'has space'", "Events.JobsQueue.Properties.Queue", "is not a valid SQS queue name", 5)]
    [InlineData("Queue: !Sub '${AWS::StackName}-jobs'", "Events.JobsQueue.Properties.Queue", "the tag !Sub is not supported here", 5)]
    [InlineData("Queue: jobs\nFilterCriteria: { Filters: [ { Pattern: 'nope' } ] }", "Events.JobsQueue.Properties.FilterCriteria.Filters[0].Pattern", "is not valid JSON", 6)]
    [InlineData("Queue: jobs\nFilterCriteria: { Filters: [ { Pattern: '[1]' } ] }", "Events.JobsQueue.Properties.FilterCriteria.Filters[0].Pattern", "must be a JSON object", 6)]
    [InlineData("Queue: jobs\nFilterCriteria: { Filters: [ {Pattern: '{}'}, {Pattern: '{}'}, {Pattern: '{}'}, {Pattern: '{}'}, {Pattern: '{}'}, {Pattern: '{}'} ] }", "Events.JobsQueue.Properties.FilterCriteria.Filters", "has 6 filters; at most 5 are allowed", 6)]
    public void Given_a_bad_sqs_property_When_parsed_Then_one_error_names_the_property_its_rule_and_line(string properties, string path, string message, int line)
    {
        MappingError error = SingleError(() => Sqs(properties));

        Assert.Equal(path, error.Path);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Equal(line, error.Line);
        Assert.Equal("test.yaml", error.Source);
        Assert.StartsWith($"test.yaml:{line}:", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Stream: s\nStartingPosition: EARLIEST", "Events.JobsStream.Properties.StartingPosition", "must be TRIM_HORIZON, LATEST or AT_TIMESTAMP; got 'EARLIEST'")]
    [InlineData("Stream: s", "Events.JobsStream.Properties.StartingPosition", "is required")]
    [InlineData("Stream: s\nStartingPosition: AT_TIMESTAMP", "Events.JobsStream.Properties.StartingPositionTimestamp", "is required")]
    [InlineData("Stream: s\nStartingPosition: LATEST\nStartingPositionTimestamp: 5", "Events.JobsStream.Properties.StartingPositionTimestamp", "only with StartingPosition AT_TIMESTAMP")]
    [InlineData("Stream: s\nStartingPosition: LATEST\nBatchSize: 10001", "Events.JobsStream.Properties.BatchSize", "must be between 1 and 10,000; got 10001")]
    [InlineData("Stream: s\nStartingPosition: LATEST\nParallelizationFactor: 11", "Events.JobsStream.Properties.ParallelizationFactor", "must be between 1 and 10; got 11")]
    [InlineData("Stream: s\nStartingPosition: LATEST\nMaximumRetryAttempts: -2", "Events.JobsStream.Properties.MaximumRetryAttempts", "must be between -1 and 10,000 (-1 = infinite); got -2")]
    [InlineData("Stream: s\nStartingPosition: LATEST\nMaximumRecordAgeInSeconds: 59", "Events.JobsStream.Properties.MaximumRecordAgeInSeconds", "must be -1 (infinite) or between 60 and 604,800; got 59")]
    [InlineData("Stream: s\nStartingPosition: LATEST\nMaximumRecordAgeInSeconds: 604801", "Events.JobsStream.Properties.MaximumRecordAgeInSeconds", "must be between -1 and 604,800")]
    [InlineData("Stream: s\nStartingPosition: LATEST\nTumblingWindowInSeconds: 901", "Events.JobsStream.Properties.TumblingWindowInSeconds", "must be between 0 and 900; got 901")]
    [InlineData("Stream: s\nStartingPosition: LATEST\nBisectBatchOnFunctionError: yes-please", "Events.JobsStream.Properties.BisectBatchOnFunctionError", "expected true or false")]
    [InlineData("Stream: s\nStartingPosition: LATEST\nScalingConfig: { MaximumConcurrency: 5 }", "Events.JobsStream.Properties.ScalingConfig", "applies to SQS, not Kinesis")]
    [InlineData("Stream: s\nStartingPosition: LATEST\nDestinationConfig: { OnFailure: { Destinaton: x } }", "Events.JobsStream.Properties.DestinationConfig.OnFailure.Destinaton", "did you mean Destination?")]
    [InlineData("Stream: s\nStartingPosition: LATEST\nDestinationConfig: { OnFailure: { Type: SNS, Destination: 'arn:aws:sqs:us-east-1:1:q' } }", "Events.JobsStream.Properties.DestinationConfig.OnFailure.Destination", "is an ARN of sqs, but Type says SNS")]
    [InlineData("Stream: arn:aws:kinesis:us-east-1:1:jobs\nStartingPosition: LATEST", "Events.JobsStream.Properties.Stream", "arn:aws:kinesis:REGION:ACCOUNT:stream/NAME")]
    [InlineData("Stream: http://127.0.0.1/s\nStartingPosition: LATEST", "Events.JobsStream.Properties.Stream", "is not allowed here")]
    public void Given_a_bad_kinesis_property_When_parsed_Then_the_error_names_the_property_and_its_rule(string properties, string path, string message)
    {
        var ex = Assert.Throws<MappingDefinitionException>(() => Kinesis(properties));

        MappingError error = Assert.Single(ex.Errors, e => e.Path == path);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.Line);
    }

    [Theory]
    [InlineData("Function:\n  Timeout: 901\nEvents: {}", "Function.Timeout", "must be between 1 and 900; got 901")]
    [InlineData("Function:\n  Tmeout: 60\nEvents:\n  A: { Type: SQS, Properties: { Queue: q } }", "Function.Tmeout", "did you mean Timeout?")]
    [InlineData("Function:\n  Buckets: [Bad_Bucket]\nEvents:\n  A: { Type: SQS, Properties: { Queue: q } }", "Function.Buckets[0]", "is not a valid S3 bucket name")]
    [InlineData("Function:\n  MemorySize: 64\nEvents:\n  A: { Type: SQS, Properties: { Queue: q } }", "Function.MemorySize", "must be between 128 and 10,240; got 64")]
    [InlineData("Function: {}", "Events", "is required")]
    [InlineData("Events:\n  A: { Type: SNS, Properties: {} }", "Events.A.Type", "'SNS' is not supported; bgpipe runs SQS and Kinesis")]
    [InlineData("Events:\n  A: { Type: sqs, Properties: { Queue: q } }", "Events.A.Type", "did you mean SQS?")]
    [InlineData("Events:\n  A: { Properties: { Queue: q } }", "Events.A.Type", "is required")]
    [InlineData("Events:\n  A: { Type: SQS }", "Events.A.Properties", "is required")]
    [InlineData("Events:\n  A: { Type: SQS, Propertes: { Queue: q } }", "Events.A.Propertes", "did you mean Properties?")]
    [InlineData("Events:\n  my-queue: { Type: SQS, Properties: { Queue: q } }", "Events.my-queue", "letters and digits only")]
    [InlineData("Events:\n  A: { Type: SQS, Properties: { Queue: q } }\nFunctions: {}", "Functions", "did you mean Function?")]
    [InlineData("- a\n- b", "", "expected a mapping of properties, got a list")]
    public void Given_a_bad_file_structure_When_parsed_Then_the_error_names_the_path(string yaml, string path, string message)
    {
        var ex = Assert.Throws<MappingDefinitionException>(() => PipelineDefinitionLoader.Parse(yaml, "f.yaml"));

        Assert.Contains(ex.Errors, e => e.Path == path && e.Message.Contains(message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Events: [unclosed")]
    [InlineData("Events:\n  A: { Type: SQS, Properties: { Queue: q } }\n  A: { Type: SQS, Properties: { Queue: r } }")]
    public void Given_an_empty_or_broken_file_When_parsed_Then_it_is_refused_with_a_reason(string yaml)
    {
        var ex = Assert.Throws<MappingDefinitionException>(() => PipelineDefinitionLoader.Parse(yaml, "f.yaml"));

        MappingError error = Assert.Single(ex.Errors);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        Assert.StartsWith("f.yaml", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Given_several_mistakes_When_parsed_Then_all_are_reported_in_line_order()
    {
        var ex = Assert.Throws<MappingDefinitionException>(() => Sqs("Queue: jobs\nBachSize: 10\nMaximumBatchingWindowInSeconds: 999\nEnabled: 3", "Function:\n  Timeout: 0\n"));

        Assert.Equal(
            ["Function.Timeout", "Events.JobsQueue.Properties.BachSize", "Events.JobsQueue.Properties.MaximumBatchingWindowInSeconds", "Events.JobsQueue.Properties.Enabled"],
            ex.Errors.Select(e => e.Path));
        Assert.Equal(ex.Errors.Select(e => e.Line).Order(), ex.Errors.Select(e => e.Line));
        Assert.Contains("4 errors", ex.Message, StringComparison.Ordinal);
    }

    public static TheoryData<int, int, bool> BatchingGrid()
    {
        var data = new TheoryData<int, int, bool>();
        foreach (int batch in new[] { 0, 1, 10, 11, 10_000, 10_001 })
        {
            foreach (int window in new[] { -1, 0, 1, 300, 301 })
            {
                data.Add(batch, window, false);
                data.Add(batch, window, true);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(BatchingGrid))]
    public void Given_any_batch_size_and_window_When_parsed_Then_the_schema_accepts_exactly_what_BatchingOptions_accepts(int batch, int window, bool fifo)
    {
        bool coreAccepts = Accepts(() => BatchingOptions.ForSqs(batch, window, fifo));
        string queue = fifo ? "jobs.fifo" : "jobs";

        bool schemaAccepts = Accepts(() => Sqs($"Queue: {queue}\nBatchSize: {batch}\nMaximumBatchingWindowInSeconds: {window}"));

        Assert.Equal(coreAccepts, schemaAccepts);
        if (schemaAccepts)
        {
            BatchingOptions options = Assert.Single(Sqs($"Queue: {queue}\nBatchSize: {batch}\nMaximumBatchingWindowInSeconds: {window}").SqsEvents).ToBatchingOptions();
            Assert.Equal((batch, window), (options.BatchSize, options.MaximumBatchingWindowInSeconds));
        }
    }

    private static bool Accepts(Action action)
    {
        try
        {
            action();
            return true;
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or MappingDefinitionException)
        {
            return false;
        }
    }

    [Fact]
    public void Given_a_fifo_queue_with_a_concurrency_cap_When_mapped_to_engine_options_Then_lanes_follow_message_groups_and_stop_at_the_first_failure()
    {
        SqsEventDefinition e = Assert.Single(Sqs("Queue: https://sqs.us-east-1.amazonaws.com/123456789012/jobs.fifo\nBatchSize: 10\nScalingConfig: { MaximumConcurrency: 7 }").SqsEvents);

        var options = e.ToMappingOptions();

        Assert.True(e.IsFifo);
        Assert.Equal("jobs.fifo", e.Queue.ResourceName);
        Assert.Equal("jobs.fifo", e.Queue.ResolveName("t1-"));
        Assert.Equal(7, options.Concurrency);
        Assert.Equal(LaneKeySource.PartitionKey, options.LaneKey);
        Assert.True(options.Invoker.StopOnFirstFailure);
    }

    [Fact]
    public void Given_a_standard_queue_without_a_cap_When_mapped_to_engine_options_Then_the_base_concurrency_stays_and_lanes_use_the_job_key()
    {
        SqsEventDefinition e = Assert.Single(Sqs("Queue: arn:aws:sqs:us-east-1:123456789012:jobs\nBatchSize: 50\nMaximumBatchingWindowInSeconds: 2").SqsEvents);

        var options = e.ToMappingOptions(new Pipeline.Core.Hosting.MappingOptions { Concurrency = 12 });

        Assert.Equal(12, options.Concurrency);
        Assert.Equal(LaneKeySource.JobKey, options.LaneKey);
        Assert.False(options.Invoker.StopOnFirstFailure);
        Assert.Equal((50, 2), (options.Batching.BatchSize, options.Batching.MaximumBatchingWindowInSeconds));
    }

    [Theory]
    [InlineData("Queue: !GetAtt JobsQueue.Arn")]
    [InlineData("Queue: !GetAtt [JobsQueue, Arn]")]
    [InlineData("Queue: !Ref JobsQueue")]
    public void Given_the_SAM_short_forms_When_parsed_Then_the_queue_is_a_logical_id(string properties)
    {
        SqsEventDefinition e = Assert.Single(Sqs(properties).SqsEvents);

        Assert.Equal(ReferenceKind.LogicalId, e.Queue.Kind);
        Assert.Equal("JobsQueue", e.Queue.Value);
    }
}
