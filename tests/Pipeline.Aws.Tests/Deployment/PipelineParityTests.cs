using System.Globalization;
using System.Reflection;
using Pipeline.Aws.Mappings;
using Pipeline.Aws.Provisioning;
using Pipeline.Testing;
using YamlDotNet.RepresentationModel;

namespace Pipeline.Aws.Tests.Deployment;

/// <summary>
/// The function's Events in template.yaml and the mappings `bgpipe run` hosts (pipelines/*.yaml) are the same
/// mappings: both are read by <see cref="PipelineDefinitionLoader"/> and compared property by property (every public
/// property, by reflection, so a property added later is compared too). References are compared by the resource
/// they reach: the template's <c>!GetAtt JobsQueue.Arn</c> is the resource list's JobsQueue, named <c>jobs</c>.
/// </summary>
public sealed class PipelineParityTests
{
    private const string EventsPath = "Resources.BgpipeFunction.Properties.Events";

    private static readonly string[] PipelineFiles = ["sqs-backlog.yaml", "kinesis-stream.yaml"];

    private static readonly Lazy<YamlMappingNode> Template = new(() =>
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(RepositoryRoot.Combine("template.yaml"))));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    });

    private static IReadOnlyList<PipelineDefinition> Pipelines => [.. PipelineFiles.Select(f => PipelineDefinitionLoader.LoadFile(RepositoryRoot.Combine("pipelines", f)))];

    private static IReadOnlyList<EventDefinition> TemplateEvents() =>
        PipelineDefinitionLoader.ReadEvents(Node("Resources", "BgpipeFunction", "Properties", "Events"), "template.yaml", EventsPath);

    [Fact]
    public void Given_the_template_and_the_pipeline_files_When_their_events_are_listed_Then_they_name_the_same_mappings_of_the_same_types()
    {
        var inPipelines = Pipelines.SelectMany(p => p.Events).Select(e => (e.Name, e.Type)).Order().ToList();
        var inTemplate = TemplateEvents().Select(e => (e.Name, e.Type)).Order().ToList();

        Assert.Equal([("JobsQueue", "SQS"), ("JobsStream", "Kinesis")], inTemplate);
        Assert.Equal(inTemplate, inPipelines);
    }

    [Fact]
    public void Given_each_pipeline_event_When_compared_with_the_templates_Then_every_property_is_equal()
    {
        var template = TemplateEvents().ToDictionary(e => e.Name, StringComparer.Ordinal);
        var compared = new HashSet<string>(StringComparer.Ordinal);
        foreach (PipelineDefinition pipeline in Pipelines)
        {
            foreach (EventDefinition local in pipeline.Events)
            {
                EventDefinition deployed = template[local.Name];
                Assert.Equal(local.GetType(), deployed.GetType());
                foreach (PropertyInfo property in local.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
                {
                    string where = $"{pipeline.Source} Events.{local.Name}.{property.Name} vs template.yaml {EventsPath}.{local.Name}";
                    Assert.True(Same(property.GetValue(local), property.GetValue(deployed)), $"{where}: {Show(property.GetValue(local))} != {Show(property.GetValue(deployed))}");
                    compared.Add($"{local.Type}.{property.Name}");
                }
            }
        }

        // The reflection really saw the properties the issue names (a renamed property would otherwise pass silently).
        string[] expected =
        [
            "SQS.Queue", "SQS.BatchSize", "SQS.MaximumBatchingWindowInSeconds", "SQS.ReportBatchItemFailures", "SQS.MaximumConcurrency", "SQS.FilterCriteria",
            "Kinesis.Stream", "Kinesis.StartingPosition", "Kinesis.ParallelizationFactor", "Kinesis.BisectBatchOnFunctionError", "Kinesis.MaximumRetryAttempts",
            "Kinesis.MaximumRecordAgeInSeconds", "Kinesis.OnFailure", "Kinesis.TumblingWindowInSeconds", "Kinesis.BatchSize", "Kinesis.ReportBatchItemFailures",
        ];
        Assert.All(expected, e => Assert.Contains(e, compared));
    }

    [Fact]
    public void Given_a_template_event_with_a_changed_value_When_compared_Then_the_comparison_sees_it()
    {
        // The comparison itself must be able to fail: the same Events with BatchSize 99 differ from the pipeline's.
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(RepositoryRoot.Combine("template.yaml")).Replace("BatchSize: 100\n", "BatchSize: 99\n", StringComparison.Ordinal)));
        YamlNode events = ((YamlMappingNode)((YamlMappingNode)((YamlMappingNode)((YamlMappingNode)stream.Documents[0].RootNode)
            .Children[new YamlScalarNode("Resources")]).Children[new YamlScalarNode("BgpipeFunction")]).Children[new YamlScalarNode("Properties")]).Children[new YamlScalarNode("Events")];
        var changed = (KinesisEventDefinition)PipelineDefinitionLoader.ReadEvents(events, "changed", EventsPath).Single(e => e.Name == "JobsStream");
        KinesisEventDefinition local = Pipelines.SelectMany(p => p.KinesisEvents).Single();

        Assert.False(Same(local.BatchSize, changed.BatchSize));
        Assert.True(Same(local.Stream, changed.Stream));
    }

    [Fact]
    public void Given_the_pipeline_files_When_their_function_settings_are_read_Then_the_template_defaults_and_environment_agree()
    {
        YamlMappingNode parameters = (YamlMappingNode)Node("Parameters");
        int timeout = int.Parse(Scalar(Node("Parameters", "FunctionTimeoutSeconds", "Default")), CultureInfo.InvariantCulture);
        int memory = int.Parse(Scalar(Node("Parameters", "MemorySize", "Default")), CultureInfo.InvariantCulture);
        YamlMappingNode variables = (YamlMappingNode)Node("Resources", "BgpipeFunction", "Properties", "Environment", "Variables");
        YamlNode table = variables.Children[new YamlScalarNode("BGPIPE_IDEMPOTENCY_TABLE")];

        Assert.Equal("!Ref", table.Tag.Value);
        Assert.Equal(InitScript.Committed.IdempotencyTable.LogicalId, ((YamlScalarNode)table).Value);
        foreach (PipelineDefinition pipeline in Pipelines)
        {
            FunctionDefinition f = pipeline.Function;
            Assert.True(f.TimeoutSeconds == timeout, $"{pipeline.Source}: Function.Timeout {f.TimeoutSeconds} != template FunctionTimeoutSeconds default {timeout}");
            Assert.True(f.MemorySize is null || f.MemorySize == memory, $"{pipeline.Source}: Function.MemorySize {f.MemorySize} != template MemorySize default {memory}");
            Assert.True(f.ReservedConcurrentExecutions is null || f.ReservedConcurrentExecutions.ToString() == Scalar(Node("Parameters", "ReservedConcurrency", "Default")),
                $"{pipeline.Source}: Function.ReservedConcurrentExecutions {f.ReservedConcurrentExecutions} != template ReservedConcurrency default");
            Assert.True(f.OutputPrefix is null || f.OutputPrefix == Scalar(variables.Children[new YamlScalarNode("BGPIPE_OUTPUT_PREFIX")]),
                $"{pipeline.Source}: Function.OutputPrefix {f.OutputPrefix} != template BGPIPE_OUTPUT_PREFIX");
            Assert.Equal(InitScript.Committed.IdempotencyTable.Name, f.IdempotencyTable);
        }

        Assert.Contains(Pipelines, p => p.Function.MemorySize is not null);
        Assert.Contains(Pipelines, p => p.Function.OutputPrefix is not null);
        Assert.True(parameters.Children.ContainsKey(new YamlScalarNode("ShardCount")));
    }

    [Fact]
    public void Given_the_default_reserved_concurrency_When_both_mappings_run_at_their_caps_Then_it_covers_them()
    {
        // Lambda throttles a mapping that wants more than the function's reserved concurrency (SQS: MaximumConcurrency;
        // Kinesis: ParallelizationFactor per shard), and a throttled SQS batch counts a receive towards the DLQ.
        int reserved = int.Parse(Scalar(Node("Parameters", "ReservedConcurrency", "Default")), CultureInfo.InvariantCulture);
        int shards = int.Parse(Scalar(Node("Parameters", "ShardCount", "Default")), CultureInfo.InvariantCulture);
        IReadOnlyList<EventDefinition> events = TemplateEvents();
        int sqs = events.OfType<SqsEventDefinition>().Sum(e => e.MaximumConcurrency ?? 1000);
        int kinesis = events.OfType<KinesisEventDefinition>().Sum(e => e.ParallelizationFactor * shards);

        Assert.True(reserved >= sqs + kinesis, $"ReservedConcurrency default {reserved} < SQS MaximumConcurrency {sqs} + Kinesis ParallelizationFactor x ShardCount {kinesis}");
    }

    /// <summary>Equal values; references equal when they reach the same resource (a plain name, or a logical id of the list).</summary>
    private static bool Same(object? local, object? deployed) => (local, deployed) switch
    {
        (ResourceReference a, ResourceReference b) => ResourceName(a) == ResourceName(b),
        (OnFailureDestination a, OnFailureDestination b) => string.Equals(a.Type, b.Type, StringComparison.OrdinalIgnoreCase) && ResourceName(a.Destination) == ResourceName(b.Destination),
        (FilterCriteriaDefinition a, FilterCriteriaDefinition b) => a.Patterns.SequenceEqual(b.Patterns, StringComparer.Ordinal),
        _ => Equals(local, deployed),
    };

    private static string ResourceName(ResourceReference reference) => reference.Kind switch
    {
        ReferenceKind.LogicalId => InitScript.Committed.All.SingleOrDefault(r => r.LogicalId == reference.Value)?.Name
            ?? throw new InvalidOperationException($"template.yaml references {reference}, which the resource list does not have"),
        ReferenceKind.Name => reference.Value,
        _ => throw new InvalidOperationException($"{reference}: pipelines/*.yaml name the stack's resources by name, not by URL or ARN"),
    };

    private static string Show(object? value) => value switch
    {
        null => "null",
        FilterCriteriaDefinition f => $"[{string.Join(", ", f.Patterns)}]",
        OnFailureDestination d => $"{d.Type}:{d.Destination}",
        _ => value.ToString() ?? string.Empty,
    };

    private static YamlNode Node(params string[] path)
    {
        YamlNode node = Template.Value;
        foreach (string key in path)
        {
            node = ((YamlMappingNode)node).Children[new YamlScalarNode(key)];
        }

        return node;
    }

    private static string Scalar(YamlNode node) => ((YamlScalarNode)node).Value!;
}
