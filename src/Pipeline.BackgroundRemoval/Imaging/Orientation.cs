using System.Runtime.InteropServices;
using SkiaSharp;

namespace Pipeline.BackgroundRemoval.Imaging;

/// <summary>
/// Applies an EXIF origin by moving whole pixels. Drawing through an SKCanvas would need a premultiplied surface and
/// would round the colours of semi-transparent pixels; a 32-bit copy is exact.
/// </summary>
internal static class Orientation
{
    public static bool SwapsAxes(SKEncodedOrigin origin) =>
        origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;

    public static bool IsIdentity(SKEncodedOrigin origin) =>
        origin is not (SKEncodedOrigin.TopRight or SKEncodedOrigin.BottomRight or SKEncodedOrigin.BottomLeft) && !SwapsAxes(origin);

    /// <summary>Returns a new bitmap in display orientation; the caller still owns <paramref name="source"/>.</summary>
    public static SKBitmap Apply(SKBitmap source, SKEncodedOrigin origin)
    {
        int w = source.Width, h = source.Height;
        var (dw, dh) = SwapsAxes(origin) ? (h, w) : (w, h);
        var target = PixelBuffers.Allocate(source.Info.WithSize(dw, dh));

        var src = MemoryMarshal.Cast<byte, uint>(source.GetPixelSpan());
        var dst = MemoryMarshal.Cast<byte, uint>(target.GetPixelSpan());

        // Each display row reads the stored image along a straight line: start index plus a fixed step per column.
        // Derived from the EXIF definitions, e.g. RightTop (6): the stored top row is the displayed right column,
        // so display (dx, dy) comes from stored (x = dy, y = h - 1 - dx).
        for (var dy = 0; dy < dh; dy++)
        {
            var (start, step) = origin switch
            {
                SKEncodedOrigin.TopRight => ((dy * w) + w - 1, -1),
                SKEncodedOrigin.BottomRight => (((h - 1 - dy) * w) + w - 1, -1),
                SKEncodedOrigin.BottomLeft => ((h - 1 - dy) * w, 1),
                SKEncodedOrigin.LeftTop => (dy, w),
                SKEncodedOrigin.RightTop => (((h - 1) * w) + dy, -w),
                SKEncodedOrigin.RightBottom => (((h - 1) * w) + (w - 1 - dy), -w),
                SKEncodedOrigin.LeftBottom => (w - 1 - dy, w),
                _ => (dy * w, 1),
            };

            var row = dst.Slice(dy * dw, dw);
            var index = start;
            for (var dx = 0; dx < row.Length; dx++, index += step)
            {
                row[dx] = src[index];
            }
        }

        return target;
    }
}
