namespace Pipeline.BackgroundRemoval.Model;

/// <summary>How the ONNX Runtime session runs. Immutable, with measured defaults (docs/benchmarks.md).</summary>
public sealed record MatteModelOptions
{
    /// <summary>
    /// Threads one inference may use. 2 (this machine's core count) was the fastest measured here for one image at a
    /// time; see docs/benchmarks.md. 0 lets ONNX Runtime choose.
    /// </summary>
    public int IntraOpThreads { get; init; } = DefaultIntraOpThreads;

    /// <summary>
    /// ONNX Runtime's CPU memory arena. Off by default: the arena keeps every run's peak allocation (~280 MB for
    /// U²-Net-p) for the life of the process, and with two lanes a backlog's RSS grew past 850 MB here; without it
    /// the memory goes back after each run (docs/benchmarks.md).
    /// </summary>
    public bool MemoryArena { get; init; }

    /// <summary>
    /// Inferences allowed at once. Each already uses <see cref="IntraOpThreads"/> cores, so more than cores / threads
    /// only adds memory (every run holds its own activations, ~150 MB for U²-Net-p) without adding speed; lanes still
    /// overlap their decoding and encoding with the run in progress. Default: cores / intra-op threads, at least 1.
    /// </summary>
    public int MaxConcurrentRuns { get; init; } = Math.Max(1, Environment.ProcessorCount / DefaultIntraOpThreads);

    public static int DefaultIntraOpThreads => Math.Clamp(Environment.ProcessorCount, 1, 8);

    public static MatteModelOptions Default { get; } = new();

    public MatteModelOptions Validate()
    {
        if (IntraOpThreads is < 0 or > 256)
        {
            throw new ArgumentOutOfRangeException(nameof(IntraOpThreads), IntraOpThreads, "IntraOpThreads must be between 0 and 256.");
        }

        if (MaxConcurrentRuns is < 1 or > 256)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrentRuns), MaxConcurrentRuns, "MaxConcurrentRuns must be between 1 and 256.");
        }

        return this;
    }
}
