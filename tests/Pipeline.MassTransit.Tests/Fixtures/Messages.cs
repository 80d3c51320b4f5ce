namespace Pipeline.MassTransit.Tests.Fixtures;

/// <summary>Another message type a MassTransit producer might put on the pipeline's queue by mistake.</summary>
public sealed record ResizeImage(string Source, int Width);
