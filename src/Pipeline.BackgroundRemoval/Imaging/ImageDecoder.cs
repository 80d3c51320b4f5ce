using System.Globalization;
using SkiaSharp;

namespace Pipeline.BackgroundRemoval.Imaging;

/// <summary>
/// Turns JPEG, PNG or WebP bytes into display-oriented RGBA pixels, or refuses with an
/// <see cref="ImageRejectedException"/>. Stateless, so one instance can serve concurrent callers.
/// </summary>
public sealed class ImageDecoder
{
    private const string Expected = "expected JPEG, PNG or WebP";

    private readonly ImageDecoderOptions _options;

    public ImageDecoder()
        : this(new ImageDecoderOptions())
    {
    }

    public ImageDecoder(ImageDecoderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    public ImageDecoderOptions Options => _options;

    /// <summary>Reads the header only; throws the same refusals Decode would before touching pixels (size limit included).</summary>
    public ImageInfoProbe Probe(ReadOnlySpan<byte> data, string? name = null)
    {
        using var opened = Open(data, name);
        var codec = opened.Codec;
        var (w, h) = (codec.Info.Width, codec.Info.Height);
        if (Orientation.SwapsAxes(codec.EncodedOrigin))
        {
            (w, h) = (h, w);
        }

        return new ImageInfoProbe(w, h, codec.EncodedFormat, codec.EncodedOrigin);
    }

    public ImageInfoProbe Probe(Stream stream, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return Probe(ReadAll(stream), name);
    }

    public DecodedImage Decode(ReadOnlySpan<byte> data, string? name = null)
    {
        using var opened = Open(data, name);
        var codec = opened.Codec;
        var format = codec.EncodedFormat;

        // sRGB as the target makes Skia convert images with an embedded profile (e.g. Display P3 from phones);
        // untagged images are already treated as sRGB, so for them this is a no-op.
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul, SKColorSpace.CreateSrgb());
        var bitmap = PixelBuffers.Allocate(info);
        try
        {
            var result = codec.GetPixels(info, bitmap.GetPixels());

            // Anything but Success means some rows are filler (libjpeg pads a cut-off file with grey), and a
            // cut-out of a half-grey picture looks like a model failure rather than a bad upload.
            if (result != SKCodecResult.Success)
            {
                throw DescribeDecodeFailure(data, format, result, name);
            }

            var origin = codec.EncodedOrigin;
            if (Orientation.IsIdentity(origin))
            {
                return new DecodedImage(bitmap, format, origin);
            }

            var oriented = Orientation.Apply(bitmap, origin);
            bitmap.Dispose();
            return new DecodedImage(oriented, format, origin);
        }
        catch
        {
            bitmap.Dispose();
            throw;
        }
    }

    public DecodedImage Decode(Stream stream, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return Decode(ReadAll(stream), name);
    }

    /// <summary>Decodes a file; the path is used as the name in refusal messages.</summary>
    public DecodedImage DecodeFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Decode(File.ReadAllBytes(path), path);
    }

    private OpenedCodec Open(ReadOnlySpan<byte> data, string? name)
    {
        if (data.IsEmpty)
        {
            throw new ImageRejectedException(ImageRejectionKind.Empty, "file is empty (0 bytes)", name);
        }

        using var skData = SKData.CreateCopy(data);

        // The codec takes ownership of the native stream (Skia frees it itself when opening fails), so disposing
        // the managed wrapper here is a no-op kept only to satisfy the analyzers.
        using var stream = new SKMemoryStream(skData);
        var codec = SKCodec.Create(stream, out var result);
        if (codec is null)
        {
            throw DescribeOpenFailure(data, result, name);
        }

        try
        {
            var format = codec.EncodedFormat;
            if (!ImageSignature.IsSupported(format))
            {
                throw Unsupported(format, name);
            }

            CheckPixelLimit(codec.Info.Width, codec.Info.Height, name);
            return new OpenedCodec(codec);
        }
        catch
        {
            codec.Dispose();
            throw;
        }
    }

    private void CheckPixelLimit(long width, long height, string? name)
    {
        var pixels = width * height;
        if (pixels > _options.MaxPixels)
        {
            var reason = string.Create(
                CultureInfo.InvariantCulture,
                $"image is {width}x{height} ({DescribePixels(pixels)}), over the {DescribePixels(_options.MaxPixels)} limit");
            throw new ImageRejectedException(ImageRejectionKind.TooLarge, reason, name);
        }
    }

    // Megapixels read best for photos; tiny test limits would all print as "0.0 MP", so those show exact counts.
    private static string DescribePixels(long pixels) =>
        pixels >= 100_000
            ? string.Create(CultureInfo.InvariantCulture, $"{pixels / 1e6:0.0} MP")
            : string.Create(CultureInfo.InvariantCulture, $"{pixels:N0} pixels");

    private ImageRejectedException DescribeOpenFailure(ReadOnlySpan<byte> data, SKCodecResult result, string? name)
    {
        var sniffed = ImageSignature.Sniff(data);
        if (sniffed is not { } format)
        {
            return new ImageRejectedException(
                ImageRejectionKind.Unrecognised,
                $"not a recognised image ({Expected}); it starts with {ImageSignature.DescribePrefix(data)}",
                name);
        }

        if (!ImageSignature.IsSupported(format))
        {
            return Unsupported(format, name);
        }

        if (format == SKEncodedImageFormat.Png)
        {
            var header = ImageSignature.ReadPngHeader(data);
            if (header.Found)
            {
                // libpng refuses some absurd sizes itself; report those as what they are rather than as damage.
                CheckPixelLimit(header.Width, header.Height, name);
            }
            else if (!header.Truncated)
            {
                return new ImageRejectedException(ImageRejectionKind.Corrupt, "corrupt PNG (no IHDR chunk after the PNG signature)", name);
            }
        }

        if (result == SKCodecResult.IncompleteInput || ImageSignature.IsShorterThanRiffHeaderSays(data))
        {
            return Truncated(format, name);
        }

        return new ImageRejectedException(
            ImageRejectionKind.Corrupt,
            $"corrupt {ImageSignature.DisplayName(format)} (header could not be read: {result})",
            name);
    }

    private static ImageRejectedException DescribeDecodeFailure(ReadOnlySpan<byte> data, SKEncodedImageFormat format, SKCodecResult result, string? name)
    {
        // libwebp reports a cut-off file as InvalidInput; the RIFF length tells us it is really truncation.
        if (result == SKCodecResult.IncompleteInput || ImageSignature.IsShorterThanRiffHeaderSays(data))
        {
            return Truncated(format, name);
        }

        return new ImageRejectedException(
            ImageRejectionKind.Corrupt,
            $"corrupt {ImageSignature.DisplayName(format)} (pixel data could not be decoded: {result})",
            name);
    }

    private static ImageRejectedException Truncated(SKEncodedImageFormat format, string? name) =>
        new(ImageRejectionKind.Truncated, $"image data is truncated ({ImageSignature.DisplayName(format)} ends early)", name);

    private static ImageRejectedException Unsupported(SKEncodedImageFormat format, string? name) =>
        new(ImageRejectionKind.UnsupportedFormat, $"unsupported image format {format} ({Expected})", name);

    private static byte[] ReadAll(Stream stream)
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>Keeps the codec's lifetime in one using; the native stream and data it reads live as long as it.</summary>
    private readonly struct OpenedCodec(SKCodec codec) : IDisposable
    {
        public SKCodec Codec { get; } = codec;

        public void Dispose() => Codec.Dispose();
    }
}
