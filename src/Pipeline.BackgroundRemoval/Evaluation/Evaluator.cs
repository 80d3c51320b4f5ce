using SkiaSharp;

namespace Pipeline.BackgroundRemoval.Evaluation;

/// <summary>Runs the function over an evaluation set and scores it against the ground-truth mattes.</summary>
public sealed class Evaluator(BackgroundRemover remover)
{
    public EvaluationReport Run(EvaluationSet set, Action<ImageScore>? progress = null)
    {
        var scores = new List<ImageScore>(set.Items.Count);
        var total = default(StageTimings);
        foreach (EvaluationItem item in set.Items)
        {
            byte[] encoded = File.ReadAllBytes(set.PathOf(item.Image));
            RemovalResult result = remover.Remove(encoded, RemovalRequest.Cutout, item.Image);
            byte[] truth = LoadMatte(set.PathOf(item.Mask), result.Width, result.Height);
            var score = new ImageScore(item.Image, MatteMetrics.IoU(result.Alpha, truth), MatteMetrics.MeanAbsoluteError(result.Alpha, truth), StageMilliseconds.From(result.Timings));
            scores.Add(score);
            total += result.Timings;
            progress?.Invoke(score);
        }

        int n = Math.Max(scores.Count, 1);
        var mean = new StageTimings(total.Decode / n, total.Pre / n, total.Run / n, total.Post / n, total.Encode / n);
        return new EvaluationReport(
            set.Directory,
            Path.GetFileName(remover.Model.Path),
            scores.Count,
            scores.Count == 0 ? 0 : scores.Average(s => s.IoU),
            scores.Count == 0 ? 0 : scores.Average(s => s.Mae),
            StageMilliseconds.From(mean),
            scores);
    }

    /// <summary>Reads a ground-truth matte as one byte per pixel (grey, or the alpha of an RGBA image).</summary>
    public static byte[] LoadMatte(string path, int width, int height)
    {
        using SKBitmap? bitmap = SKBitmap.Decode(path) ?? throw new InvalidDataException($"{path}: not a readable mask image");
        if (bitmap.Width != width || bitmap.Height != height)
        {
            throw new InvalidDataException($"{path}: mask is {bitmap.Width}x{bitmap.Height} but its image is {width}x{height}");
        }

        if (bitmap.ColorType == SKColorType.Gray8)
        {
            return bitmap.GetPixelSpan().ToArray();
        }

        // A colour mask: use alpha when it has one, otherwise the red channel of an opaque grey rendering.
        using SKBitmap rgba = bitmap.Copy(SKColorType.Rgba8888) ?? throw new InvalidDataException($"{path}: unsupported mask pixel format");
        ReadOnlySpan<byte> px = rgba.GetPixelSpan();
        bool hasAlpha = bitmap.AlphaType != SKAlphaType.Opaque;
        var matte = new byte[width * height];
        for (int i = 0; i < matte.Length; i++)
        {
            matte[i] = hasAlpha ? px[(i * 4) + 3] : px[i * 4];
        }

        return matte;
    }
}
