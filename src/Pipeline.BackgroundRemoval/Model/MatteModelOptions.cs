namespace Pipeline.BackgroundRemoval.Model;

/// <summary>How the ONNX Runtime session runs. Immutable, with measured defaults (docs/benchmarks.md).</summary>
public sealed record MatteModelOptions
{
    /// <summary>
    /// Threads one inference may use. 2 (this machine's core count) was the fastest measured here for one image at a
    /// time; see docs/benchmarks.md. 0 lets ONNX Runtime choose.
    /// </summary>
    public int IntraOpThreads { get; init; } = DefaultIntraOpThreads;

    public static int DefaultIntraOpThreads => Math.Clamp(Environment.ProcessorCount, 1, 8);

    public static MatteModelOptions Default { get; } = new();

    public MatteModelOptions Validate()
    {
        if (IntraOpThreads is < 0 or > 256)
        {
            throw new ArgumentOutOfRangeException(nameof(IntraOpThreads), IntraOpThreads, "IntraOpThreads must be between 0 and 256.");
        }

        return this;
    }
}
