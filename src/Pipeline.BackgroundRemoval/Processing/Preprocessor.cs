using Pipeline.BackgroundRemoval.Model;
using SkiaSharp;

namespace Pipeline.BackgroundRemoval.Processing;

/// <summary>
/// Image → model input, exactly as rembg prepares U²-Net input (../shared/data/README.md): resize to the model's
/// square size bilinearly (Skia <see cref="SKFilterMode.Linear"/>), scale to [0,1], divide by the resized image's
/// maximum, then normalise each channel with the descriptor's mean and std. The result is NCHW, RGB.
/// </summary>
public static class Preprocessor
{
    /// <summary>Bilinear, no mipmaps: the filter the reference figures were made with, in both directions.</summary>
    public static readonly SKSamplingOptions Bilinear = new(SKFilterMode.Linear, SKMipmapMode.None);

    public static float[] ToTensor(SKBitmap image, ModelDescriptor descriptor)
    {
        int size = descriptor.InputSize;
        using SKBitmap resized = Resize(image, size);
        return ToTensor(resized.GetPixelSpan(), size, descriptor);
    }

    /// <summary>Converts RGBA8888 pixels of a size x size image (already resized) into the normalised tensor.</summary>
    public static float[] ToTensor(ReadOnlySpan<byte> rgba, int size, ModelDescriptor descriptor)
    {
        int plane = size * size;
        if (rgba.Length < plane * 4)
        {
            throw new ArgumentException($"expected {plane * 4} bytes of RGBA pixels, got {rgba.Length}", nameof(rgba));
        }

        int max = 0;
        if (descriptor.DivideByMax)
        {
            for (int i = 0; i < plane * 4; i += 4)
            {
                max = Math.Max(max, Math.Max(rgba[i], Math.Max(rgba[i + 1], rgba[i + 2])));
            }
        }

        // x / 255 / (max / 255) == x / max; an all-black image keeps x / 255 instead of dividing by zero.
        float scale = descriptor.DivideByMax && max > 0 ? 1f / max : 1f / 255f;
        var tensor = new float[3 * plane];
        for (int c = 0; c < 3; c++)
        {
            float mean = descriptor.Mean[c];
            float invStd = 1f / descriptor.Std[c];
            int offset = c * plane;
            for (int p = 0, i = c; p < plane; p++, i += 4)
            {
                tensor[offset + p] = ((rgba[i] * scale) - mean) * invStd;
            }
        }

        return tensor;
    }

    /// <summary>Resizes to an opaque RGBA8888 square; transparency is dropped, as rembg's RGB conversion does.</summary>
    public static SKBitmap Resize(SKBitmap image, int size)
    {
        var info = new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        SKBitmap resized = image.Resize(info, Bilinear)
            ?? throw new InvalidOperationException($"Skia could not resize a {image.Width}x{image.Height} image to {size}x{size}");
        return resized;
    }
}
