using SkiaSharp;

namespace Pipeline.Testing.Imaging;

/// <summary>
/// A picture drawn in code with its exact matte: a red figure (a rounded body and a head) on a textured green
/// background. The seed moves the figure and changes the grain, so pictures of one size still differ.
/// </summary>
public sealed class DrawnPicture : IDisposable
{
    private DrawnPicture(SKBitmap image, SKBitmap matte)
    {
        Image = image;
        Matte = matte;
    }

    /// <summary>RGBA, opaque.</summary>
    public SKBitmap Image { get; }

    /// <summary>Gray8: 255 on the figure, 0 elsewhere.</summary>
    public SKBitmap Matte { get; }

    public static DrawnPicture ShapeOnTexture(int width, int height, int seed, float cornerRadius)
    {
        var image = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var matte = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
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
        using (var matteCanvas = new SKCanvas(matte))
        using (var paint = new SKPaint { Color = new SKColor(235, 60, 40), IsAntialias = false })
        using (var white = new SKPaint { Color = SKColors.White, IsAntialias = false })
        {
            matteCanvas.Clear(SKColors.Black);
            float cx = width * (0.4f + (0.05f * (seed % 3)));
            foreach ((SKCanvas c, SKPaint p) in new[] { (canvas, paint), (matteCanvas, white) })
            {
                c.DrawRoundRect(new SKRect(cx - (width * 0.15f), height * 0.4f, cx + (width * 0.15f), height * 0.95f), cornerRadius, cornerRadius, p);
                c.DrawCircle(cx, height * 0.26f, height * 0.13f, p);
            }
        }

        return new DrawnPicture(image, matte);
    }

    /// <summary>The picture encoded as <paramref name="format"/> at <paramref name="quality"/>.</summary>
    public byte[] Encode(SKEncodedImageFormat format, int quality)
    {
        using SKData encoded = Image.Encode(format, quality);
        return encoded.ToArray();
    }

    public void Dispose()
    {
        Image.Dispose();
        Matte.Dispose();
    }
}
