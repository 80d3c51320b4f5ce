using SkiaSharp;

namespace Pipeline.BackgroundRemoval.Imaging;

/// <summary>
/// What the header says, read without decoding pixels. <see cref="Width"/> and <see cref="Height"/> are in display
/// orientation, i.e. the size <see cref="ImageDecoder.Decode(ReadOnlySpan{byte}, string?)"/> would return.
/// </summary>
public sealed record ImageInfoProbe(int Width, int Height, SKEncodedImageFormat Format, SKEncodedOrigin Origin)
{
    public long PixelCount => (long)Width * Height;
}
