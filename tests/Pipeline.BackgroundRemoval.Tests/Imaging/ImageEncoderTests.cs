using Pipeline.BackgroundRemoval.Imaging;
using SkiaSharp;
using static Pipeline.BackgroundRemoval.Tests.Imaging.ImageFixtures;

namespace Pipeline.BackgroundRemoval.Tests.Imaging;

public sealed class ImageEncoderTests
{
    // 3x2 foreground: distinct colours so a channel or pixel mix-up shows.
    private static readonly byte[] Foreground =
    [
        200, 10, 1, 255,   0, 128, 255, 255,   17, 34, 51, 255,
        255, 255, 255, 255,   90, 80, 70, 255,   1, 2, 3, 255,
    ];

    private static readonly byte[] Matte = [0, 1, 128, 200, 255, 77];

    [Fact]
    public void Given_an_image_and_a_matte_When_encoded_as_cutout_Then_alpha_is_the_matte_and_colours_are_kept()
    {
        using var image = DecodedImage.FromRgba(3, 2, Foreground);

        var png = ImageEncoder.EncodeCutout(image, Matte);

        Assert.Equal(((byte)8, (byte)6), PngFormat(png));
        var decoded = DecodeWithSkia(png, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        for (var i = 0; i < Matte.Length; i++)
        {
            Assert.Equal(Matte[i], decoded[(i * 4) + 3]);
            byte[] expected = Matte[i] > 0 ? Foreground.AsSpan(i * 4, 3).ToArray() : [0, 0, 0];
            Assert.Equal(expected, decoded.AsSpan(i * 4, 3).ToArray());
        }
    }

    [Fact]
    public void Given_a_matte_When_encoded_as_mask_Then_it_is_an_8_bit_grayscale_png_equal_to_the_matte()
    {
        var png = ImageEncoder.EncodeMask(3, 2, Matte);

        Assert.Equal(((byte)8, (byte)0), PngFormat(png));
        Assert.Equal(Matte, DecodeWithSkia(png, SKColorType.Gray8, SKAlphaType.Opaque));
    }

    [Fact]
    public void Given_a_matte_When_composited_over_a_background_Then_each_channel_is_the_correctly_rounded_mix()
    {
        using var image = DecodedImage.FromRgba(3, 1, [200, 10, 1, 255, 200, 10, 1, 255, 200, 10, 1, 255]);
        var background = new SKColor(100, 250, 0);

        var png = ImageEncoder.EncodeOverBackground(image, [0, 255, 128], background);

        Assert.Equal(((byte)8, (byte)2), PngFormat(png));
        var decoded = DecodeWithSkia(png, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        Assert.Equal(new byte[] { 100, 250, 0, 255 }, decoded[0..4]); // alpha 0: background
        Assert.Equal(new byte[] { 200, 10, 1, 255 }, decoded[4..8]); // alpha 255: foreground
        // alpha 128: R (200*128 + 100*127)/255 = 150.20 -> 150; G (10*128 + 250*127)/255 = 129.53 -> 130;
        // B (1*128 + 0*127)/255 = 0.502 -> 1 (truncation would give 0).
        Assert.Equal(new byte[] { 150, 130, 1, 255 }, decoded[8..12]);
    }

    [Fact]
    public void Given_a_translucent_background_When_compositing_Then_it_is_rejected()
    {
        using var image = DecodedImage.FromRgba(3, 2, Foreground);

        var error = Assert.Throws<ArgumentException>(() => ImageEncoder.EncodeOverBackground(image, Matte, new SKColor(1, 2, 3, 100)));

        Assert.Contains("opaque", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_matte_of_the_wrong_length_When_encoding_Then_every_encoder_says_what_was_expected()
    {
        using var image = DecodedImage.FromRgba(3, 2, Foreground);
        byte[] shortMatte = [1, 2, 3, 4, 5];

        var errors = new[]
        {
            Assert.Throws<ArgumentException>(() => ImageEncoder.EncodeCutout(image, shortMatte)),
            Assert.Throws<ArgumentException>(() => ImageEncoder.EncodeMask(3, 2, shortMatte)),
            Assert.Throws<ArgumentException>(() => ImageEncoder.EncodeOverBackground(image, shortMatte, SKColors.White)),
        };

        Assert.All(errors, e => Assert.StartsWith("matte has 5 values but the image is 3x2 (6 pixels)", e.Message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("#FF8000", 255, 128, 0)]
    [InlineData("#0a0B0c", 10, 11, 12)]
    [InlineData("#000000", 0, 0, 0)]
    public void Given_a_hex_colour_When_parsed_Then_it_is_that_opaque_colour(string text, byte r, byte g, byte b)
    {
        Assert.Equal(new SKColor(r, g, b, 255), ImageEncoder.ParseHexColour(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("FF8000")]
    [InlineData("#FFF")]
    [InlineData("#FF80001")]
    [InlineData("#GG8000")]
    [InlineData(" #FF8000")]
    [InlineData("#FF 800")]
    [InlineData("#+F8000")]
    [InlineData(null)]
    public void Given_text_that_is_not_hash_rrggbb_When_parsed_Then_a_clear_argument_error(string? text)
    {
        var error = Assert.Throws<ArgumentException>(() => ImageEncoder.ParseHexColour(text!));

        Assert.Contains("colour must be #RRGGBB", error.Message, StringComparison.Ordinal);
    }
}
