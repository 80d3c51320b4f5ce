using SkiaSharp;

namespace Pipeline.Lambda.Tests;

/// <summary>Small pictures drawn in code (after Pipeline.Cli.Tests' Images): a shape on a textured background.</summary>
internal static class Images
{
    public static byte[] ShapeOnTexture(SKEncodedImageFormat format, int width = 96, int height = 72, int seed = 1)
    {
        using var image = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var random = new Random(seed);
        Span<byte> px = image.GetPixelSpan();
        for (int i = 0; i < px.Length; i += 4)
        {
            int grain = random.Next(40);
            px[i] = (byte)(50 + grain);
            px[i + 1] = (byte)(80 + grain);
            px[i + 2] = (byte)(40 + grain);
            px[i + 3] = 255;
        }

        using (var canvas = new SKCanvas(image))
        using (var paint = new SKPaint { Color = new SKColor(235, 60, 40), IsAntialias = false })
        {
            float cx = width * (0.4f + (0.05f * (seed % 3)));
            canvas.DrawRoundRect(new SKRect(cx - (width * 0.15f), height * 0.4f, cx + (width * 0.15f), height * 0.95f), 6, 6, paint);
            canvas.DrawCircle(cx, height * 0.26f, height * 0.13f, paint);
        }

        using SKData encoded = image.Encode(format, 90);
        return encoded.ToArray();
    }

    public static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
}
