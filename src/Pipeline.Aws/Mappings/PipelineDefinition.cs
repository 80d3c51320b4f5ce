namespace Pipeline.Aws.Mappings;

/// <summary>One pipelines/*.yaml file: the function's settings and its event source mappings.</summary>
public sealed class PipelineDefinition
{
    internal PipelineDefinition(string source, string? description, FunctionDefinition function, IReadOnlyList<EventDefinition> events)
    {
        Source = source;
        Description = description;
        Function = function;
        Events = events;
    }

    /// <summary>Where it was read from (the file path, or the name given to <see cref="PipelineDefinitionLoader.Parse"/>).</summary>
    public string Source { get; }

    public string? Description { get; }

    public FunctionDefinition Function { get; }

    /// <summary>The mappings, in file order.</summary>
    public IReadOnlyList<EventDefinition> Events { get; }

    public IEnumerable<SqsEventDefinition> SqsEvents => Events.OfType<SqsEventDefinition>();

    public IEnumerable<KinesisEventDefinition> KinesisEvents => Events.OfType<KinesisEventDefinition>();
}
