using System.Runtime.InteropServices;
using Pipeline.BackgroundRemoval.Imaging;
using SkiaSharp;
using static Pipeline.BackgroundRemoval.Tests.Imaging.ImageDecoderTests;
using static Pipeline.BackgroundRemoval.Tests.Imaging.ImageFixtures;

namespace Pipeline.BackgroundRemoval.Tests.Imaging;

public sealed class ExifOrientationTests
{
    public enum Corner
    {
        TopLeft,
        TopRight,
        BottomRight,
        BottomLeft,
    }

    // The stored image is 40x20 with its red block top-left; where the block must be displayed for each EXIF value.
    [Theory]
    [InlineData(1, 40, 20, Corner.TopLeft)]
    [InlineData(2, 40, 20, Corner.TopRight)]
    [InlineData(3, 40, 20, Corner.BottomRight)]
    [InlineData(4, 40, 20, Corner.BottomLeft)]
    [InlineData(5, 20, 40, Corner.TopLeft)]
    [InlineData(6, 20, 40, Corner.TopRight)]
    [InlineData(7, 20, 40, Corner.BottomRight)]
    [InlineData(8, 20, 40, Corner.BottomLeft)]
    public void Given_a_jpeg_with_an_exif_orientation_When_decoded_Then_it_is_in_display_orientation(ushort orientation, int width, int height, Corner redCorner)
    {
        var jpeg = WithExifOrientation(Encode(40, 20, RedCornerRgba(), SKEncodedImageFormat.Jpeg), orientation);

        using var image = new ImageDecoder().Decode(jpeg, "in/rotated.jpg");

        Assert.Equal((width, height), (image.Width, image.Height));
        Assert.Equal((SKEncodedOrigin)orientation, image.AppliedOrigin);
        foreach (var corner in Enum.GetValues<Corner>())
        {
            // 4 px in from each corner: inside the 10x10 block, clear of JPEG ringing at its edge.
            var x = corner is Corner.TopLeft or Corner.BottomLeft ? 4 : width - 5;
            var y = corner is Corner.TopLeft or Corner.TopRight ? 4 : height - 5;
            AssertColour(corner == redCorner ? Red : Blue, PixelAt(image, x, y), tolerance: 40);
        }
    }

    // Exact pixel-by-pixel check of every origin on a 3x2 image, expectations written out by hand from the EXIF spec:
    //   stored   a b c
    //            d e f
    [Theory]
    [InlineData(SKEncodedOrigin.TopLeft, 3, "abcdef")]
    [InlineData(SKEncodedOrigin.TopRight, 3, "cbafed")]
    [InlineData(SKEncodedOrigin.BottomRight, 3, "fedcba")]
    [InlineData(SKEncodedOrigin.BottomLeft, 3, "defabc")]
    [InlineData(SKEncodedOrigin.LeftTop, 2, "adbecf")]
    [InlineData(SKEncodedOrigin.RightTop, 2, "daebfc")]
    [InlineData(SKEncodedOrigin.RightBottom, 2, "fcebda")]
    [InlineData(SKEncodedOrigin.LeftBottom, 2, "cfbead")]
    public void Given_each_origin_When_applied_Then_every_pixel_lands_where_exif_says(SKEncodedOrigin origin, int displayWidth, string expected)
    {
        using var stored = new SKBitmap(new SKImageInfo(3, 2, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var labels = "abcdef";
        var storedPixels = MemoryMarshal.Cast<byte, uint>(stored.GetPixelSpan());
        for (var i = 0; i < labels.Length; i++)
        {
            storedPixels[i] = labels[i];
        }

        using var displayed = Orientation.Apply(stored, origin);

        Assert.Equal((displayWidth, 6 / displayWidth), (displayed.Width, displayed.Height));
        var actual = new string([.. MemoryMarshal.Cast<byte, uint>(displayed.GetPixelSpan()).ToArray().Select(p => (char)p)]);
        Assert.Equal(expected, actual);
    }
}
