using SkiaSharp;

namespace Pipeline.Cli.Tests;

/// <summary>Pictures drawn in code for the CLI tests, with their exact mattes.</summary>
internal static class Images
{
    public static (byte[] Jpeg, byte[] Matte, int Width, int Height) ShapeOnTexture(int width = 240, int height = 180, int seed = 1)
    {
        using var image = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using var mask = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
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
        using (var maskCanvas = new SKCanvas(mask))
        using (var paint = new SKPaint { Color = new SKColor(235, 60, 40), IsAntialias = false })
        using (var white = new SKPaint { Color = SKColors.White, IsAntialias = false })
        {
            maskCanvas.Clear(SKColors.Black);
            float cx = width * (0.4f + (0.05f * (seed % 3)));
            foreach ((SKCanvas c, SKPaint p) in new[] { (canvas, paint), (maskCanvas, white) })
            {
                c.DrawRoundRect(new SKRect(cx - (width * 0.15f), height * 0.4f, cx + (width * 0.15f), height * 0.95f), 14, 14, p);
                c.DrawCircle(cx, height * 0.26f, height * 0.13f, p);
            }
        }

        using SKData jpeg = image.Encode(SKEncodedImageFormat.Jpeg, 95);
        return (jpeg.ToArray(), mask.GetPixelSpan().ToArray(), width, height);
    }

    public static byte[] GreyPng(byte[] matte, int width, int height)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        matte.CopyTo(bitmap.GetPixelSpan());
        using SKData png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
