using Pipeline.BackgroundRemoval.Imaging;
using Pipeline.BackgroundRemoval.Model;
using Pipeline.BackgroundRemoval.Processing;
using Pipeline.Core.Records;
using SkiaSharp;

namespace Pipeline.BackgroundRemoval;

/// <summary>
/// The background-removal function's core: decode (with the pixel-limit guard and EXIF orientation), pre-process,
/// run the model, post-process, encode. Stateless apart from the shared model, so one instance serves every lane.
/// </summary>
public sealed class BackgroundRemover
{
    private readonly MatteModel _model;
    private readonly ImageDecoder _decoder;
    private readonly TimeProvider _time;

    public BackgroundRemover(MatteModel model, ImageDecoder? decoder = null, TimeProvider? timeProvider = null)
    {
        _model = model;
        _decoder = decoder ?? new ImageDecoder();
        _time = timeProvider ?? TimeProvider.System;
    }

    public MatteModel Model => _model;

    /// <summary>Removes the background of an encoded image. Bad images throw <see cref="ImageRejectedException"/>.</summary>
    public RemovalResult Remove(byte[] encoded, RemovalRequest request, string? name = null)
    {
        SKColor? background = request.Background is null ? null : ImageEncoder.ParseHexColour(request.Background);
        long t0 = _time.GetTimestamp();
        using DecodedImage image = _decoder.Decode(encoded, name);
        long t1 = _time.GetTimestamp();
        float[] tensor = Preprocessor.ToTensor(image.Bitmap, _model.Descriptor);
        long t2 = _time.GetTimestamp();
        float[] matte = _model.Run(tensor);
        long t3 = _time.GetTimestamp();
        byte[] alpha = Postprocessor.ToAlpha(matte, _model.InputSize, image.Width, image.Height);
        long t4 = _time.GetTimestamp();
        byte[] png = request.Output switch
        {
            OutputKind.Mask => ImageEncoder.EncodeMask(image.Width, image.Height, alpha),
            _ when background is { } colour => ImageEncoder.EncodeOverBackground(image, alpha, colour),
            _ => ImageEncoder.EncodeCutout(image, alpha),
        };
        long t5 = _time.GetTimestamp();
        var timings = new StageTimings(
            _time.GetElapsedTime(t0, t1), _time.GetElapsedTime(t1, t2), _time.GetElapsedTime(t2, t3),
            _time.GetElapsedTime(t3, t4), _time.GetElapsedTime(t4, t5));
        return new RemovalResult(png, alpha, image.Width, image.Height, timings);
    }

    /// <summary>The matte alone (for evaluation): decode, pre-process, run, post-process.</summary>
    public byte[] PredictAlpha(byte[] encoded, string? name = null) =>
        Remove(encoded, new RemovalRequest(OutputKind.Mask), name).Alpha;
}
