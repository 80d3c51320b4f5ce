using SkiaSharp;

namespace Pipeline.BackgroundRemoval.Imaging;

internal static class PixelBuffers
{
    /// <summary>
    /// Allocates a bitmap with tightly packed rows, failing loudly: an SKBitmap whose allocation failed has no
    /// pixels and would otherwise surface later as a null pointer deep in a decoder.
    /// </summary>
    public static SKBitmap Allocate(SKImageInfo info)
    {
        var bitmap = new SKBitmap();
        if (!bitmap.TryAllocPixels(info, info.RowBytes))
        {
            bitmap.Dispose();
            throw new InsufficientMemoryException($"could not allocate {info.Width}x{info.Height} {info.ColorType} pixels ({info.BytesSize64:N0} bytes)");
        }

        return bitmap;
    }
}
