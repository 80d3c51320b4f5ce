using SkiaSharp;

namespace Pipeline.BackgroundRemoval.Tests.Fixtures;

/// <summary>Images drawn in code, with their exact ground-truth mattes.</summary>
public static class Drawn
{
    /// <summary>
    /// A solid, brightly coloured shape (a rounded body with a head) on a busy, darker pseudo-random texture, and its
    /// exact matte (255 inside the shape, 0 outside, no anti-aliasing so the truth is crisp).
    /// </summary>
    public static (byte[] Jpeg, byte[] Matte, int Width, int Height) ShapeOnTexture(int width = 320, int height = 240, int seed = 5)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var image = new SKBitmap(info);
        var random = new Random(seed);
        Span<byte> px = image.GetPixelSpan();
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int i = ((y * width) + x) * 4;
                int grain = random.Next(40);
                px[i] = (byte)(60 + grain + (20 * Math.Sin(x / 7.0)));
                px[i + 1] = (byte)(70 + grain + (20 * Math.Cos(y / 5.0)));
                px[i + 2] = (byte)(40 + grain);
                px[i + 3] = 255;
            }
        }

        using var maskBitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(image))
        using (var maskCanvas = new SKCanvas(maskBitmap))
        {
            maskCanvas.Clear(SKColors.Black);
            var bodyRect = new SKRect(width * 0.35f, height * 0.38f, width * 0.65f, height * 0.95f);
            using var paint = new SKPaint { Color = new SKColor(230, 40, 60), IsAntialias = false, Style = SKPaintStyle.Fill };
            using var white = new SKPaint { Color = SKColors.White, IsAntialias = false, Style = SKPaintStyle.Fill };
            foreach ((SKCanvas c, SKPaint p) in new[] { (canvas, paint), (maskCanvas, white) })
            {
                c.DrawRoundRect(bodyRect, 18, 18, p);
                c.DrawCircle(width * 0.5f, height * 0.25f, height * 0.13f, p);
            }
        }

        using SKData jpeg = image.Encode(SKEncodedImageFormat.Jpeg, 95);
        return (jpeg.ToArray(), maskBitmap.GetPixelSpan().ToArray(), width, height);
    }

    public static byte[] Png(int width, int height, SKColor colour)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        bitmap.Erase(colour);
        using SKData png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
