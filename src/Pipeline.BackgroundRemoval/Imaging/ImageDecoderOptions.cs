namespace Pipeline.BackgroundRemoval.Imaging;

public sealed record ImageDecoderOptions
{
    /// <summary>
    /// The RGBA buffer of one image is a single span, so its byte count (pixels x 4) must fit in an int.
    /// </summary>
    public const long MaxSupportedPixels = int.MaxValue / 4;

    /// <summary>
    /// Largest width x height accepted, checked against the header before any pixel is decoded, so a small file
    /// that declares a huge canvas (a decompression bomb) costs nothing. 40 MP covers every phone camera we know of
    /// while keeping one decoded frame (plus its rotated copy) well under a Lambda's memory.
    /// </summary>
    public long MaxPixels
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxSupportedPixels);
            field = value;
        }
    } = 40_000_000;
}
