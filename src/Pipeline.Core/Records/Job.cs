namespace Pipeline.Core.Records;

/// <summary>Output kinds a job may ask for.</summary>
public enum OutputKind
{
    Cutout,
    Mask,
}

/// <summary>
/// A background-removal job: <c>{"jobId"?, "source", "destination"?, "output"?, "background"?}</c>.
/// <see cref="Key"/> is the job's identity (jobId, or a hash of what it asks for); the idempotency key adds the
/// source's identity to it, so a changed source starts fresh.
/// </summary>
public sealed record Job
{
    public string? JobId { get; init; }

    public required string Source { get; init; }

    public string? Destination { get; init; }

    public OutputKind Output { get; init; } = OutputKind.Cutout;

    /// <summary>Background colour as #RRGGBB, or null for a transparent cut-out.</summary>
    public string? Background { get; init; }

    /// <summary>The job's key: <see cref="JobId"/> when given, otherwise a hash of source, destination and options.</summary>
    public required string Key { get; init; }
}
