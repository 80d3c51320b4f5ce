using Pipeline.Core.Records;

namespace Pipeline.BackgroundRemoval;

/// <summary>What to produce from one image: a cut-out (PNG with alpha), a grey matte, or a cut-out over a colour.</summary>
public sealed record RemovalRequest(OutputKind Output = OutputKind.Cutout, string? Background = null)
{
    public static RemovalRequest Cutout { get; } = new();
}

/// <summary>Where one image's time went, stage by stage.</summary>
public readonly record struct StageTimings(TimeSpan Decode, TimeSpan Pre, TimeSpan Run, TimeSpan Post, TimeSpan Encode)
{
    public TimeSpan Total => Decode + Pre + Run + Post + Encode;

    public static StageTimings operator +(StageTimings a, StageTimings b) =>
        new(a.Decode + b.Decode, a.Pre + b.Pre, a.Run + b.Run, a.Post + b.Post, a.Encode + b.Encode);
}

/// <summary>The encoded PNG, the alpha it was made with, and the time each stage took.</summary>
public sealed record RemovalResult(byte[] Png, byte[] Alpha, int Width, int Height, StageTimings Timings);
