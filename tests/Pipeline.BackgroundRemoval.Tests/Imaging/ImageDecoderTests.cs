using Pipeline.BackgroundRemoval.Imaging;
using SkiaSharp;
using static Pipeline.BackgroundRemoval.Tests.Imaging.ImageFixtures;

namespace Pipeline.BackgroundRemoval.Tests.Imaging;

public sealed class ImageDecoderTests
{
    private readonly ImageDecoder _decoder = new();

    [Theory]
    [InlineData(SKEncodedImageFormat.Jpeg, 40)]
    [InlineData(SKEncodedImageFormat.Webp, 40)]
    [InlineData(SKEncodedImageFormat.Png, 0)]
    public void Given_an_encoded_image_When_decoded_Then_size_format_and_colours_match_within_the_codec_tolerance(SKEncodedImageFormat format, int tolerance)
    {
        var encoded = Encode(40, 20, RedCornerRgba(), format);

        using var image = _decoder.Decode(encoded, "in/corner");

        Assert.Equal((40, 20), (image.Width, image.Height));
        Assert.Equal(format, image.Format);
        Assert.Equal(SKColorType.Rgba8888, image.Bitmap.ColorType);
        Assert.Equal(SKAlphaType.Unpremul, image.Bitmap.AlphaType);
        Assert.Equal(40 * 20 * 4, image.Pixels.Length);
        AssertColour(Red, PixelAt(image, 4, 4), tolerance);
        AssertColour(Blue, PixelAt(image, 30, 15), tolerance);
        AssertColour(Blue, PixelAt(image, 4, 15), tolerance);
    }

    [Fact]
    public void Given_a_png_with_translucent_pixels_When_decoded_Then_colours_are_unpremultiplied_and_exact()
    {
        byte[] rgba = [200, 100, 50, 10, 1, 2, 3, 0, 255, 255, 255, 128, 9, 8, 7, 255];
        var png = Encode(2, 2, rgba, SKEncodedImageFormat.Png);

        using var image = _decoder.Decode(png);

        Assert.Equal(rgba, image.Pixels.ToArray());
    }

    [Fact]
    public void Given_a_lossless_webp_When_decoded_Then_pixels_are_exact()
    {
        var rgba = RedCornerRgba();
        var webp = EncodeLosslessWebp(40, 20, rgba);

        using var image = _decoder.Decode(webp);

        Assert.Equal(SKEncodedImageFormat.Webp, image.Format);
        Assert.Equal(rgba, image.Pixels.ToArray());
    }

    [Fact]
    public void Given_a_stream_positioned_at_the_image_When_decoded_Then_it_reads_from_there()
    {
        var png = Encode(40, 20, RedCornerRgba(), SKEncodedImageFormat.Png);
        using var stream = new MemoryStream([.. "junk"u8.ToArray(), .. png]);
        stream.Position = 4;

        using var image = _decoder.Decode(stream, "upload");

        Assert.Equal((40, 20), (image.Width, image.Height));
    }

    [Fact]
    public void Given_a_file_When_decoded_from_its_path_Then_it_decodes_and_refusals_name_the_path()
    {
        var folder = Directory.CreateTempSubdirectory("imaging-tests-");
        try
        {
            var good = Path.Combine(folder.FullName, "ok.png");
            File.WriteAllBytes(good, Encode(40, 20, RedCornerRgba(), SKEncodedImageFormat.Png));
            var empty = Path.Combine(folder.FullName, "empty.jpg");
            File.WriteAllBytes(empty, []);

            using (var image = _decoder.DecodeFile(good))
            {
                Assert.Equal((40, 20), (image.Width, image.Height));
            }

            var refused = Assert.Throws<ImageRejectedException>(() => _decoder.DecodeFile(empty));
            Assert.Equal($"{empty}: file is empty (0 bytes)", refused.Message);
            Assert.Equal(empty, refused.FileName);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void Given_a_rotated_jpeg_When_probed_Then_it_reports_display_size_format_and_origin()
    {
        var jpeg = WithExifOrientation(Encode(40, 20, RedCornerRgba(), SKEncodedImageFormat.Jpeg), 6);

        var probe = _decoder.Probe(jpeg);

        Assert.Equal(new ImageInfoProbe(20, 40, SKEncodedImageFormat.Jpeg, SKEncodedOrigin.RightTop), probe);
        Assert.Equal(800, probe.PixelCount);
    }

    [Fact]
    public void Given_a_decoded_image_When_disposed_Then_its_bitmap_can_no_longer_be_used()
    {
        var image = _decoder.Decode(Encode(40, 20, RedCornerRgba(), SKEncodedImageFormat.Png));

        image.Dispose();
        image.Dispose();

        Assert.Throws<ObjectDisposedException>(() => image.Bitmap);
    }

    internal static SKColor PixelAt(DecodedImage image, int x, int y)
    {
        var i = ((y * image.Width) + x) * 4;
        var p = image.Pixels;
        return new SKColor(p[i], p[i + 1], p[i + 2], p[i + 3]);
    }

    internal static void AssertColour(SKColor expected, SKColor actual, int tolerance)
    {
        var close = Math.Abs(expected.Red - actual.Red) <= tolerance
            && Math.Abs(expected.Green - actual.Green) <= tolerance
            && Math.Abs(expected.Blue - actual.Blue) <= tolerance
            && expected.Alpha == actual.Alpha;
        Assert.True(close, $"expected {expected} within {tolerance}, got {actual}");
    }
}
