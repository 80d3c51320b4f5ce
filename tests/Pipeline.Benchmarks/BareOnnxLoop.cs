using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using SkiaSharp;

namespace Pipeline.Benchmarks;

/// <summary>
/// The reference to compare against: a bare ONNX Runtime loop written straight from ../shared/data/README.md,
/// sharing no code with the function except the SessionOptions it is given. One image after another: decode,
/// pre-process, run, post-process, PNG encode.
/// </summary>
internal sealed class BareOnnxLoop : IDisposable
{
    private const int Size = 320;
    private static readonly float[] Mean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] Std = [0.229f, 0.224f, 0.225f];
    private readonly InferenceSession _session;
    private readonly string _input;
    private readonly string _output;

    public BareOnnxLoop(string modelPath, SessionOptions options)
    {
        _session = new InferenceSession(modelPath, options);
        _input = _session.InputMetadata.Keys.First();
        _output = _session.OutputMetadata.Keys.First();
    }

    /// <summary>Returns the alpha, the PNG and the milliseconds of decode, pre, run, post, encode.</summary>
    public (byte[] Alpha, byte[] Png, double[] Ms) Process(byte[] encoded)
    {
        var ms = new double[5];
        var sw = Stopwatch.StartNew();

        using var codec = SKCodec.Create(new SKMemoryStream(encoded));
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var image = new SKBitmap(info);
        if (codec.GetPixels(info, image.GetPixels()) != SKCodecResult.Success)
        {
            throw new InvalidDataException("decode failed");
        }

        ms[0] = Lap(sw);

        var sampling = new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None);
        using SKBitmap small = image.Resize(new SKImageInfo(Size, Size, SKColorType.Rgba8888, SKAlphaType.Unpremul), sampling)!;
        ReadOnlySpan<byte> px = small.GetPixelSpan();
        int max = 1;
        for (int i = 0; i < px.Length; i += 4)
        {
            max = Math.Max(max, Math.Max(px[i], Math.Max(px[i + 1], px[i + 2])));
        }

        var tensor = new float[3 * Size * Size];
        for (int p = 0; p < Size * Size; p++)
        {
            for (int c = 0; c < 3; c++)
            {
                tensor[(c * Size * Size) + p] = ((px[(p * 4) + c] / (float)max) - Mean[c]) / Std[c];
            }
        }

        ms[1] = Lap(sw);

        using OrtValue input = OrtValue.CreateTensorValueFromMemory(tensor, [1, 3, Size, Size]);
        using var runOptions = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> outputs = _session.Run(runOptions, [_input], [input], [_output]);
        float[] matte = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        ms[2] = Lap(sw);

        float lo = matte.Min(), hi = matte.Max();
        using var gray = new SKBitmap(new SKImageInfo(Size, Size, SKColorType.Gray8, SKAlphaType.Opaque));
        Span<byte> g = gray.GetPixelSpan();
        for (int i = 0; i < g.Length; i++)
        {
            g[i] = (byte)Math.Clamp((int)MathF.Round((matte[i] - lo) / (hi - lo) * 255f), 0, 255);
        }

        using SKBitmap full = gray.Resize(new SKImageInfo(image.Width, image.Height, SKColorType.Gray8, SKAlphaType.Opaque), sampling)!;
        byte[] alpha = full.GetPixelSpan().ToArray();
        ms[3] = Lap(sw);

        using var cutout = new SKBitmap(info);
        Span<byte> dst = cutout.GetPixelSpan();
        ReadOnlySpan<byte> src = image.GetPixelSpan();
        for (int i = 0; i < alpha.Length; i++)
        {
            bool visible = alpha[i] != 0;
            dst[i * 4] = visible ? src[i * 4] : (byte)0;
            dst[(i * 4) + 1] = visible ? src[(i * 4) + 1] : (byte)0;
            dst[(i * 4) + 2] = visible ? src[(i * 4) + 2] : (byte)0;
            dst[(i * 4) + 3] = alpha[i];
        }

        // The same PNG settings as the function (zlib level 1, Up filter), so both do the same work.
        using SKPixmap pixmap = cutout.PeekPixels();
        using SKData png = pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.Up, 1))!;
        byte[] bytes = png.ToArray();
        ms[4] = Lap(sw);
        return (alpha, bytes, ms);
    }

    private static double Lap(Stopwatch sw)
    {
        double ms = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        return ms;
    }

    public void Dispose() => _session.Dispose();
}
