using Pipeline.Testing.Imaging;
using SkiaSharp;

namespace Pipeline.Lambda.Tests;

/// <summary>Small pictures drawn in code (Pipeline.Testing's DrawnPicture): a shape on a textured background.</summary>
internal static class Images
{
    public static byte[] ShapeOnTexture(SKEncodedImageFormat format, int width = 96, int height = 72, int seed = 1)
    {
        using DrawnPicture picture = DrawnPicture.ShapeOnTexture(width, height, seed, cornerRadius: 6);
        return picture.Encode(format, 90);
    }

    public static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
}
