using SkiaSharp;

namespace Pipeline.BackgroundRemoval.Processing;

/// <summary>
/// Model output → alpha: min-max normalise the raw matte to [0,1], then resize it bilinearly (Skia
/// <see cref="SKFilterMode.Linear"/>) to the image's size. Nothing else: no thresholds, no morphology, no tuning.
/// </summary>
public static class Postprocessor
{
    /// <summary>Returns one alpha byte per pixel of a <paramref name="width"/> x <paramref name="height"/> image.</summary>
    public static byte[] ToAlpha(ReadOnlySpan<float> matte, int size, int width, int height)
    {
        if (matte.Length != size * size)
        {
            throw new ArgumentException($"matte must hold {size}x{size} values (got {matte.Length})", nameof(matte));
        }

        float min = float.MaxValue, max = float.MinValue;
        foreach (float v in matte)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }

        float range = max - min;
        float scale = range > 0 ? 255f / range : 0f;
        using var small = new SKBitmap(new SKImageInfo(size, size, SKColorType.Gray8, SKAlphaType.Opaque));
        Span<byte> pixels = small.GetPixelSpan();
        for (int i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (byte)Math.Clamp((int)MathF.Round((matte[i] - min) * scale), 0, 255);
        }

        if (width == size && height == size)
        {
            return pixels.ToArray();
        }

        using SKBitmap full = small.Resize(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque), Preprocessor.Bilinear)
            ?? throw new InvalidOperationException($"Skia could not resize the matte to {width}x{height}");
        return full.GetPixelSpan().ToArray();
    }
}
