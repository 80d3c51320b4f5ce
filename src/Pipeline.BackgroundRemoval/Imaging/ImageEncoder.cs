using System.Buffers;
using System.Globalization;
using SkiaSharp;

namespace Pipeline.BackgroundRemoval.Imaging;

/// <summary>Writes results as PNG: the cut-out with alpha, the matte alone, or the cut-out flattened onto a colour.</summary>
public static class ImageEncoder
{
    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");

    /// <summary>
    /// RGBA PNG: the image's unpremultiplied colours with <paramref name="alpha"/> as the alpha channel. Fully
    /// transparent pixels get black colour (as rembg's cut-outs do): invisible either way, and it compresses far better.
    /// </summary>
    public static byte[] EncodeCutout(DecodedImage image, ReadOnlySpan<byte> alpha)
    {
        ArgumentNullException.ThrowIfNull(image);
        RequireMatte(image.Width, image.Height, alpha);

        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul, image.Bitmap.ColorSpace);
        using var bitmap = PixelBuffers.Allocate(info);
        var source = image.Pixels;
        var target = bitmap.GetPixelSpan();
        source.CopyTo(target);
        for (var i = 0; i < alpha.Length; i++)
        {
            byte a = alpha[i];
            target[(i * 4) + 3] = a;
            if (a == 0)
            {
                target[i * 4] = 0;
                target[(i * 4) + 1] = 0;
                target[(i * 4) + 2] = 0;
            }
        }

        return EncodePng(bitmap);
    }

    /// <summary>8-bit grayscale PNG of the matte (0 = background, 255 = foreground).</summary>
    public static byte[] EncodeMask(int width, int height, ReadOnlySpan<byte> alpha)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        RequireMatte(width, height, alpha);

        using var bitmap = PixelBuffers.Allocate(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        alpha.CopyTo(bitmap.GetPixelSpan());
        return EncodePng(bitmap);
    }

    /// <summary>
    /// Opaque PNG of the cut-out composited onto <paramref name="background"/>:
    /// out = round((fg x a + bg x (255 - a)) / 255) per channel, on the unpremultiplied colours.
    /// </summary>
    public static byte[] EncodeOverBackground(DecodedImage image, ReadOnlySpan<byte> alpha, SKColor background)
    {
        ArgumentNullException.ThrowIfNull(image);
        RequireMatte(image.Width, image.Height, alpha);
        if (background.Alpha != 255)
        {
            throw new ArgumentException($"background must be opaque (alpha 255), got alpha {background.Alpha}", nameof(background));
        }

        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque, image.Bitmap.ColorSpace);
        using var bitmap = PixelBuffers.Allocate(info);
        var source = image.Pixels;
        var target = bitmap.GetPixelSpan();
        int bgR = background.Red, bgG = background.Green, bgB = background.Blue;
        for (var i = 0; i < alpha.Length; i++)
        {
            int a = alpha[i];
            var p = i * 4;
            target[p] = Blend(source[p], bgR, a);
            target[p + 1] = Blend(source[p + 1], bgG, a);
            target[p + 2] = Blend(source[p + 2], bgB, a);
            target[p + 3] = 255;
        }

        return EncodePng(bitmap);
    }

    /// <summary>Parses <c>#RRGGBB</c> (hex digits, either case) into an opaque colour.</summary>
    public static SKColor ParseHexColour(string text)
    {
        if (text is not { Length: 7 } || text[0] != '#' || text.AsSpan(1).ContainsAnyExcept(HexDigits))
        {
            throw new ArgumentException($"colour must be #RRGGBB, e.g. #FFFFFF for white; got \"{text}\"", nameof(text));
        }

        var r = byte.Parse(text.AsSpan(1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        var g = byte.Parse(text.AsSpan(3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        var b = byte.Parse(text.AsSpan(5, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        return new SKColor(r, g, b, 255);
    }

    /// <summary>
    /// Writes to a temporary file beside <paramref name="path"/> and renames it over the target, so a reader (or a
    /// crash) never sees a half-written file under the final name. Creates the folder if needed.
    /// </summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> bytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = Path.GetFullPath(path);
        var fileName = Path.GetFileName(fullPath);
        if (fileName.Length == 0)
        {
            throw new ArgumentException($"\"{path}\" names a folder, not a file", nameof(path));
        }

        var folder = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(folder);

        // Same folder, so the rename stays on one file system and is atomic; dot-prefixed so globs skip it.
        var temp = Path.Combine(folder, $".{fileName}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                file.Write(bytes);

                // Flush to disk before the rename; otherwise a power cut can leave the new name with empty content.
                file.Flush(flushToDisk: true);
            }

            File.Move(temp, fullPath, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    private static byte Blend(int foreground, int background, int alpha) =>
        (byte)(((foreground * alpha) + (background * (255 - alpha)) + 127) / 255);

    private static void RequireMatte(int width, int height, ReadOnlySpan<byte> alpha)
    {
        var expected = (long)width * height;
        if (alpha.Length != expected)
        {
            throw new ArgumentException(
                $"matte has {alpha.Length} values but the image is {width}x{height} ({expected} pixels); expected one byte per pixel",
                nameof(alpha));
        }
    }

    /// <summary>
    /// zlib level 1 with the Up filter: measured here on a 640x480 image at 6 ms and 157 KB, against 43 ms and 124 KB
    /// for Skia's default (level 6, all filters). Encoding is a fixed cost per image, so speed wins over size.
    /// </summary>
    private static readonly SKPngEncoderOptions FastPng = new(SKPngEncoderFilterFlags.Up, 1);

    private static byte[] EncodePng(SKBitmap bitmap)
    {
        using var pixmap = bitmap.PeekPixels();
        using var data = pixmap.Encode(FastPng)
            ?? throw new InvalidOperationException($"Skia could not encode a {bitmap.Width}x{bitmap.Height} {bitmap.ColorType} PNG");
        return data.ToArray();
    }
}
