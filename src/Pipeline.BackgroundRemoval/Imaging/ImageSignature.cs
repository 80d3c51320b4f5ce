using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using SkiaSharp;

namespace Pipeline.BackgroundRemoval.Imaging;

/// <summary>
/// Our own look at the first bytes. Skia only says "no codec" with a result code when it cannot open a file, which
/// cannot tell garbage from a damaged PNG; these checks turn that into a message a user can act on.
/// </summary>
internal static class ImageSignature
{
    private const int PrefixShown = 8;

    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public static SKEncodedImageFormat? Sniff(ReadOnlySpan<byte> data)
    {
        if (data.StartsWith(PngSignature))
        {
            return SKEncodedImageFormat.Png;
        }

        if (data.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]))
        {
            return SKEncodedImageFormat.Jpeg;
        }

        if (data.Length >= 12 && data.StartsWith("RIFF"u8) && data[8..12].SequenceEqual("WEBP"u8))
        {
            return SKEncodedImageFormat.Webp;
        }

        if (data.StartsWith("GIF87a"u8) || data.StartsWith("GIF89a"u8))
        {
            return SKEncodedImageFormat.Gif;
        }

        if (data.StartsWith("BM"u8))
        {
            return SKEncodedImageFormat.Bmp;
        }

        return null;
    }

    public static bool IsSupported(SKEncodedImageFormat format) =>
        format is SKEncodedImageFormat.Jpeg or SKEncodedImageFormat.Png or SKEncodedImageFormat.Webp;

    public static string DisplayName(SKEncodedImageFormat format) => format switch
    {
        SKEncodedImageFormat.Jpeg => "JPEG",
        SKEncodedImageFormat.Png => "PNG",
        SKEncodedImageFormat.Webp => "WebP",
        _ => format.ToString(),
    };

    /// <summary>The PNG's IHDR chunk, or why there is none: (false, true) means the data ends inside it.</summary>
    public static (bool Found, bool Truncated, uint Width, uint Height) ReadPngHeader(ReadOnlySpan<byte> data)
    {
        // Signature (8) + chunk length (4) + "IHDR" (4) + width (4) + height (4).
        const int needed = 24;
        if (data.Length < needed)
        {
            var typeSeen = data.Length >= 16 ? data[12..16] : [];
            var couldStillBeIhdr = typeSeen.IsEmpty || typeSeen.SequenceEqual("IHDR"u8);
            return (false, couldStillBeIhdr, 0, 0);
        }

        if (!data[12..16].SequenceEqual("IHDR"u8))
        {
            return (false, false, 0, 0);
        }

        return (true, false, BinaryPrimitives.ReadUInt32BigEndian(data[16..]), BinaryPrimitives.ReadUInt32BigEndian(data[20..]));
    }

    /// <summary>WebP is a RIFF file whose header states the total length, so a short file is provably cut off.</summary>
    public static bool IsShorterThanRiffHeaderSays(ReadOnlySpan<byte> data)
    {
        if (data.Length < 8 || !data.StartsWith("RIFF"u8))
        {
            return false;
        }

        var declared = (long)BinaryPrimitives.ReadUInt32LittleEndian(data[4..]) + 8;
        return data.Length < declared;
    }

    /// <summary>The first bytes as quoted text when they read as text, else as hex; shown for unrecognised files.</summary>
    public static string DescribePrefix(ReadOnlySpan<byte> data)
    {
        var prefix = data[..Math.Min(PrefixShown, data.Length)];
        var isText = true;
        foreach (var b in prefix)
        {
            if (b is not ((>= 0x20 and < 0x7F) or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                isText = false;
                break;
            }
        }

        if (isText)
        {
            var text = Encoding.ASCII.GetString(prefix)
                .Replace("\\", "\\\\", StringComparison.Ordinal)
                .Replace("\"", "\\\"", StringComparison.Ordinal)
                .Replace("\t", "\\t", StringComparison.Ordinal)
                .Replace("\r", "\\r", StringComparison.Ordinal)
                .Replace("\n", "\\n", StringComparison.Ordinal);
            return $"\"{text}\"";
        }

        var hex = new StringBuilder("bytes");
        foreach (var b in prefix)
        {
            hex.Append(' ').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }

        return hex.ToString();
    }
}
