using System.Text;
using Pipeline.BackgroundRemoval.Imaging;
using SkiaSharp;
using static Pipeline.BackgroundRemoval.Tests.Imaging.ImageFixtures;

namespace Pipeline.BackgroundRemoval.Tests.Imaging;

public sealed class ImageDecoderRefusalTests
{
    private readonly ImageDecoder _decoder = new();

    [Fact]
    public void Given_zero_bytes_When_decoded_Then_refused_as_empty()
    {
        var refused = Assert.Throws<ImageRejectedException>(() => _decoder.Decode([], "in/x.jpg"));

        Assert.Equal(ImageRejectionKind.Empty, refused.Kind);
        Assert.Equal("in/x.jpg: file is empty (0 bytes)", refused.Message);
        Assert.Equal("file is empty (0 bytes)", refused.Reason);
    }

    [Fact]
    public void Given_a_text_file_named_jpg_When_decoded_Then_refused_as_unrecognised_showing_its_first_bytes()
    {
        var refused = Assert.Throws<ImageRejectedException>(() => _decoder.Decode("hello world\n"u8, "in/x.jpg"));

        Assert.Equal(ImageRejectionKind.Unrecognised, refused.Kind);
        Assert.Equal("in/x.jpg: not a recognised image (expected JPEG, PNG or WebP); it starts with \"hello wo\"", refused.Message);
    }

    [Fact]
    public void Given_unrecognised_binary_When_decoded_Then_its_first_bytes_are_shown_in_hex()
    {
        byte[] data = [0x00, 0x01, 0xFE, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47];

        var refused = Assert.Throws<ImageRejectedException>(() => _decoder.Decode(data));

        Assert.Equal(ImageRejectionKind.Unrecognised, refused.Kind);
        Assert.EndsWith("it starts with bytes 00 01 FE 41 42 43 44 45", refused.Message, StringComparison.Ordinal);
        Assert.Null(refused.FileName);
    }

    [Fact]
    public void Given_a_png_header_declaring_25000_by_25000_When_decoded_Then_refused_from_the_header_before_any_pixel_decode()
    {
        // The IDAT holds one byte: had the decoder started on the pixels it would have reported truncation instead.
        var bomb = HandmadePng(25000, 25000);

        var refused = Assert.Throws<ImageRejectedException>(() => _decoder.Decode(bomb, "in/x.png"));

        Assert.Equal(ImageRejectionKind.TooLarge, refused.Kind);
        Assert.Equal("in/x.png: image is 25000x25000 (625.0 MP), over the 40.0 MP limit", refused.Message);
        Assert.Equal(ImageRejectionKind.TooLarge, Assert.Throws<ImageRejectedException>(() => _decoder.Probe(bomb)).Kind);
    }

    [Fact]
    public void Given_a_png_header_too_large_for_libpng_itself_When_decoded_Then_still_refused_as_too_large()
    {
        var bomb = HandmadePng(2_000_000, 2_000_000);

        var refused = Assert.Throws<ImageRejectedException>(() => _decoder.Decode(bomb, "in/x.png"));

        Assert.Equal("in/x.png: image is 2000000x2000000 (4000000.0 MP), over the 40.0 MP limit", refused.Message);
    }

    [Fact]
    public void Given_a_real_image_over_a_lowered_limit_When_decoded_Then_refused_and_at_the_limit_accepted()
    {
        var png = Encode(40, 20, RedCornerRgba(), SKEncodedImageFormat.Png);

        var strict = new ImageDecoder(new ImageDecoderOptions { MaxPixels = 799 });
        var refused = Assert.Throws<ImageRejectedException>(() => strict.Decode(png, "in/x.png"));
        using var accepted = new ImageDecoder(new ImageDecoderOptions { MaxPixels = 800 }).Decode(png);

        Assert.Equal("in/x.png: image is 40x20 (800 pixels), over the 799 pixels limit", refused.Message);
        Assert.Equal(40, accepted.Width);
    }

    [Fact]
    public void Given_a_jpeg_cut_in_half_When_decoded_Then_refused_as_truncated_instead_of_returning_grey_rows()
    {
        var jpeg = Encode(256, 256, NoiseRgba(256, 256), SKEncodedImageFormat.Jpeg);

        var refused = Assert.Throws<ImageRejectedException>(() => _decoder.Decode(jpeg[..(jpeg.Length / 2)], "in/x.jpg"));

        Assert.Equal(ImageRejectionKind.Truncated, refused.Kind);
        Assert.Equal("in/x.jpg: image data is truncated (JPEG ends early)", refused.Message);
    }

    [Theory]
    [InlineData(SKEncodedImageFormat.Png, "PNG")]
    [InlineData(SKEncodedImageFormat.Webp, "WebP")]
    [InlineData(SKEncodedImageFormat.Jpeg, "JPEG")]
    public void Given_any_supported_format_cut_short_When_decoded_Then_refused_as_truncated(SKEncodedImageFormat format, string shown)
    {
        var full = Encode(256, 256, NoiseRgba(256, 256), format);

        var refused = Assert.Throws<ImageRejectedException>(() => _decoder.Decode(full[..(full.Length * 2 / 3)], "in/x"));

        Assert.Equal(ImageRejectionKind.Truncated, refused.Kind);
        Assert.Equal($"in/x: image data is truncated ({shown} ends early)", refused.Message);
    }

    [Fact]
    public void Given_a_jpeg_cut_inside_its_header_When_decoded_Then_refused_as_truncated()
    {
        var jpeg = Encode(256, 256, NoiseRgba(256, 256), SKEncodedImageFormat.Jpeg);

        var refused = Assert.Throws<ImageRejectedException>(() => _decoder.Decode(jpeg[..10]));

        Assert.Equal(ImageRejectionKind.Truncated, refused.Kind);
    }

    [Fact]
    public void Given_garbage_after_a_png_signature_When_decoded_Then_refused_as_corrupt_png()
    {
        byte[] data = [.. PngSignature, .. Encoding.ASCII.GetBytes("this is not a chunk stream, just some text that follows the signature")];

        var refused = Assert.Throws<ImageRejectedException>(() => _decoder.Decode(data, "in/x.png"));

        Assert.Equal(ImageRejectionKind.Corrupt, refused.Kind);
        Assert.Equal("in/x.png: corrupt PNG (no IHDR chunk after the PNG signature)", refused.Message);
    }

    [Fact]
    public void Given_a_png_with_scrambled_image_data_When_decoded_Then_refused_as_corrupt()
    {
        var png = Encode(64, 64, NoiseRgba(64, 64), SKEncodedImageFormat.Png);
        for (var i = 60; i < png.Length - 20; i++)
        {
            png[i] ^= 0x5A;
        }

        var refused = Assert.Throws<ImageRejectedException>(() => _decoder.Decode(png, "in/x.png"));

        Assert.Equal(ImageRejectionKind.Corrupt, refused.Kind);
        Assert.StartsWith("in/x.png: corrupt PNG (", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_gif_When_decoded_Then_refused_as_unsupported_format()
    {
        var refused = Assert.Throws<ImageRejectedException>(() => _decoder.Decode(HandmadeGif()));

        Assert.Equal(ImageRejectionKind.UnsupportedFormat, refused.Kind);
        Assert.StartsWith("unsupported image format Gif", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_bmp_When_probed_Then_refused_as_unsupported_format()
    {
        var refused = Assert.Throws<ImageRejectedException>(() => _decoder.Probe(HandmadeBmp(), "in/x.bmp"));

        Assert.Equal(ImageRejectionKind.UnsupportedFormat, refused.Kind);
        Assert.StartsWith("in/x.bmp: unsupported image format Bmp", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    [InlineData(ImageDecoderOptions.MaxSupportedPixels + 1)]
    public void Given_a_pixel_limit_out_of_range_When_options_are_built_Then_rejected(long limit)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageDecoderOptions { MaxPixels = limit });
    }

    [Fact]
    public void Given_default_options_When_read_Then_the_limit_is_40_megapixels()
    {
        Assert.Equal(40_000_000, new ImageDecoderOptions().MaxPixels);
    }
}
