using SkiaSharp;

namespace Pipeline.BackgroundRemoval.Imaging;

/// <summary>
/// A decoded picture in display orientation: RGBA8888, unpremultiplied, sRGB, rows packed tightly
/// (row stride is exactly Width x 4 bytes).
/// </summary>
public sealed class DecodedImage : IDisposable
{
    private readonly SKBitmap _bitmap;
    private bool _disposed;

    internal DecodedImage(SKBitmap bitmap, SKEncodedImageFormat format, SKEncodedOrigin appliedOrigin)
    {
        _bitmap = bitmap;
        Format = format;
        AppliedOrigin = appliedOrigin;
    }

    public int Width => _bitmap.Width;

    public int Height => _bitmap.Height;

    public long PixelCount => (long)Width * Height;

    /// <summary>The encoded format the pixels came from.</summary>
    public SKEncodedImageFormat Format { get; }

    /// <summary>The EXIF origin the file declared; already applied to the pixels.</summary>
    public SKEncodedOrigin AppliedOrigin { get; }

    public SKBitmap Bitmap
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _bitmap;
        }
    }

    /// <summary>RGBA bytes, row-major, Width x Height x 4 long.</summary>
    public ReadOnlySpan<byte> Pixels => Bitmap.GetPixelSpan();

    /// <summary>Builds an image from raw RGBA (unpremultiplied) bytes; for tests and synthetic inputs.</summary>
    internal static DecodedImage FromRgba(int width, int height, ReadOnlySpan<byte> rgba, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (rgba.Length != (long)width * height * 4)
        {
            throw new ArgumentException($"expected {(long)width * height * 4} RGBA bytes for {width}x{height}, got {rgba.Length}", nameof(rgba));
        }

        var bitmap = PixelBuffers.Allocate(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul, SKColorSpace.CreateSrgb()));
        rgba.CopyTo(bitmap.GetPixelSpan());
        return new DecodedImage(bitmap, format, SKEncodedOrigin.TopLeft);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _bitmap.Dispose();
    }
}
