namespace Pipeline.Aws.Mappings;

/// <summary>One thing wrong in a mapping definition: where (file, line, property path) and what.</summary>
public sealed record MappingError(string Source, int? Line, int? Column, string Path, string Message)
{
    /// <summary><c>file:line:column: Path: message</c>, the shape compilers use, so editors can jump to it.</summary>
    public override string ToString()
    {
        string where = Line is { } line ? $"{Source}:{line}:{Column ?? 1}" : Source;
        return string.IsNullOrEmpty(Path) ? $"{where}: {Message}" : $"{where}: {Path}: {Message}";
    }
}

/// <summary>A mapping definition (pipelines/*.yaml) that cannot be used; <see cref="Errors"/> lists every problem found.</summary>
public sealed class MappingDefinitionException : Exception
{
    public MappingDefinitionException()
        : this([])
    {
    }

    public MappingDefinitionException(string message)
        : base(message)
    {
        Errors = [];
    }

    public MappingDefinitionException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [];
    }

    public MappingDefinitionException(IReadOnlyList<MappingError> errors)
        : base(Describe(errors))
    {
        Errors = errors;
    }

    public IReadOnlyList<MappingError> Errors { get; }

    private static string Describe(IReadOnlyList<MappingError> errors) => errors.Count switch
    {
        0 => "The mapping definition is not valid.",
        1 => errors[0].ToString(),
        _ => $"{errors.Count} errors:{Environment.NewLine}{string.Join(Environment.NewLine, errors)}",
    };
}
