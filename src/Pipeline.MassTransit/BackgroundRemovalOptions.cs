using Pipeline.Core.Invocation;

namespace Pipeline.MassTransit;

/// <summary>
/// The embedded default that <c>AddBackgroundRemoval</c> builds when the container has no function or store of its
/// own: the file function over <see cref="InputFolder"/> and <see cref="OutputFolder"/>, and the local SQLite
/// idempotency store (as <c>bgpipe backlog</c> uses). Checked by <see cref="Validate"/> when the first consumer runs.
/// </summary>
public sealed record BackgroundRemovalOptions
{
    /// <summary>Jobs name their source relative to this folder (required for the embedded file function).</summary>
    public string? InputFolder { get; set; }

    /// <summary>Results are written under this folder, created when missing (required for the embedded file function).</summary>
    public string? OutputFolder { get; set; }

    /// <summary>The SQLite idempotency database (default <c>&lt;OutputFolder&gt;/.bgpipe/state.db</c>, as <c>bgpipe backlog</c> keeps it).</summary>
    public string? StateDatabase { get; set; }

    /// <summary>The ONNX model (default: <c>models/u2netp.onnx</c> next to the binaries, or <c>BGPIPE_MODEL</c>).</summary>
    public string? ModelPath { get; set; }

    /// <summary>In-process retries and the claim lease with its heartbeat (default <see cref="InvokerOptions.Default"/>).</summary>
    public InvokerOptions Invoker { get; set; } = InvokerOptions.Default;

    /// <summary>The state database path this configuration resolves to.</summary>
    public string ResolvedStateDatabase =>
        StateDatabase ?? Path.Combine(OutputFolder ?? throw Missing(nameof(OutputFolder)), ".bgpipe", "state.db");

    /// <summary>Throws naming the setting that is missing or wrong.</summary>
    public BackgroundRemovalOptions Validate(bool needsFolders)
    {
        if (needsFolders)
        {
            if (string.IsNullOrWhiteSpace(InputFolder))
            {
                throw Missing(nameof(InputFolder));
            }

            if (string.IsNullOrWhiteSpace(OutputFolder))
            {
                throw Missing(nameof(OutputFolder));
            }
        }

        ArgumentNullException.ThrowIfNull(Invoker, nameof(Invoker));
        Invoker.Validate(TimeSpan.Zero);
        return this;
    }

    private static InvalidOperationException Missing(string name) =>
        new($"BackgroundRemovalOptions.{name} is not set: the embedded file function needs it (or register your own IJobFunction and IIdempotencyStore before AddBackgroundRemoval)");
}
