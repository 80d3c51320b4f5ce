namespace Pipeline.Aws.Mappings;

/// <summary>How a mapping names its source or destination.</summary>
public enum ReferenceKind
{
    /// <summary>A plain name, prefixed with the provision prefix when resolved (e.g. <c>jobs</c> becomes <c>t1-jobs</c>).</summary>
    Name,

    /// <summary>A queue URL, used as it is.</summary>
    Url,

    /// <summary>An ARN, used as it is.</summary>
    Arn,

    /// <summary>A template resource named by <c>!GetAtt Id.Arn</c> or <c>!Ref Id</c> (the SAM form); resolved against the resource list.</summary>
    LogicalId,
}

/// <summary>A queue, stream or destination as a mapping names it.</summary>
public sealed class ResourceReference
{
    internal ResourceReference(ReferenceKind kind, string value)
    {
        Kind = kind;
        Value = value;
    }

    public ReferenceKind Kind { get; }

    /// <summary>The text as written (for <see cref="ReferenceKind.LogicalId"/>, the logical id without <c>.Arn</c>).</summary>
    public string Value { get; }

    /// <summary>The last segment: the queue or stream name for a URL or ARN, the name itself otherwise.</summary>
    public string ResourceName => Kind switch
    {
        ReferenceKind.Url => new Uri(Value).AbsolutePath.TrimEnd('/').Split('/')[^1],
        ReferenceKind.Arn => Value.Split(':')[^1].Split('/')[^1],
        _ => Value,
    };

    /// <summary>True for an SQS FIFO queue (its name ends in <c>.fifo</c>).</summary>
    public bool IsFifo => Kind != ReferenceKind.LogicalId && ResourceName.EndsWith(".fifo", StringComparison.Ordinal);

    /// <summary>The name to look up: a plain name gets the provision prefix; URLs and ARNs keep theirs.</summary>
    public string ResolveName(string prefix) => Kind == ReferenceKind.Name ? prefix + Value : ResourceName;

    public override string ToString() => Kind == ReferenceKind.LogicalId ? $"!GetAtt {Value}.Arn" : Value;
}
