using Pipeline.BackgroundRemoval.Evaluation;
using Pipeline.BackgroundRemoval.Imaging;
using Pipeline.BackgroundRemoval.Tests.Fixtures;
using Pipeline.Core.Records;
using SkiaSharp;

namespace Pipeline.BackgroundRemoval.Tests;

[Collection(ModelCollection.Name)]
public sealed class BackgroundRemoverTests(ModelFixture fixture)
{
    [Fact]
    public void Given_a_shape_drawn_on_a_texture_When_its_background_is_removed_Then_the_matte_matches_the_drawn_shape()
    {
        (byte[] jpeg, byte[] truth, int w, int h) = Drawn.ShapeOnTexture();

        RemovalResult result = fixture.Remover.Remove(jpeg, RemovalRequest.Cutout, "drawn.jpg");

        Assert.Equal((w, h), (result.Width, result.Height));
        double iou = MatteMetrics.IoU(result.Alpha, truth);
        Assert.True(iou >= 0.85, $"IoU {iou:0.000} on the drawn shape; U²-Net-p scores about 0.95 here");
        Assert.True(MatteMetrics.MeanAbsoluteError(result.Alpha, truth) <= 0.05);
    }

    [Fact]
    public void Given_a_cutout_request_When_removed_Then_the_PNG_carries_the_matte_as_alpha()
    {
        (byte[] jpeg, _, int w, int h) = Drawn.ShapeOnTexture();

        RemovalResult result = fixture.Remover.Remove(jpeg, RemovalRequest.Cutout);

        using SKBitmap png = SKBitmap.Decode(result.Png);
        Assert.Equal((w, h), (png.Width, png.Height));
        Assert.NotEqual(SKAlphaType.Opaque, png.AlphaType);
        using SKBitmap rgba = png.Copy(SKColorType.Rgba8888);
        ReadOnlySpan<byte> px = rgba.GetPixelSpan();
        for (int i = 0; i < result.Alpha.Length; i += 997)
        {
            Assert.Equal(result.Alpha[i], px[(i * 4) + 3]);
        }
    }

    [Fact]
    public void Given_a_mask_request_When_removed_Then_the_PNG_is_the_grey_matte()
    {
        (byte[] jpeg, _, _, _) = Drawn.ShapeOnTexture();

        RemovalResult result = fixture.Remover.Remove(jpeg, new RemovalRequest(OutputKind.Mask));

        using SKBitmap png = SKBitmap.Decode(result.Png);
        Assert.Equal(SKColorType.Gray8, png.ColorType);
        Assert.Equal(result.Alpha, png.GetPixelSpan().ToArray());
    }

    [Fact]
    public void Given_a_background_colour_When_removed_Then_the_PNG_is_opaque_and_the_background_takes_that_colour()
    {
        (byte[] jpeg, byte[] truth, int w, _) = Drawn.ShapeOnTexture();

        RemovalResult result = fixture.Remover.Remove(jpeg, new RemovalRequest(OutputKind.Cutout, "#00FF00"));

        using SKBitmap png = SKBitmap.Decode(result.Png);
        Assert.Equal(SKAlphaType.Opaque, png.AlphaType);
        int corner = 2 * w + 2; // top-left background, far from the shape
        Assert.Equal(0, truth[corner]);
        SKColor c = png.GetPixel(2, 2);
        Assert.True(result.Alpha[corner] < 10, "the corner is background");
        Assert.InRange(c.Green, 240, 255);
        Assert.InRange(c.Red, 0, 15);
    }

    [Fact]
    public void Given_bytes_that_are_not_an_image_When_removed_Then_the_image_is_refused_with_a_reason()
    {
        var ex = Assert.Throws<ImageRejectedException>(() => fixture.Remover.Remove("hello, world"u8.ToArray(), RemovalRequest.Cutout, "note.jpg"));
        Assert.Contains("note.jpg", ex.Message, StringComparison.Ordinal);
    }

    [CompositesFact]
    public void Given_the_composites_set_When_evaluated_Then_mean_IoU_and_MAE_meet_the_reference()
    {
        EvaluationSet set = EvaluationSet.Load(SharedData.Find("composites")!);

        EvaluationReport report = new Evaluator(fixture.Remover).Run(set);

        Assert.Equal(48, report.Images);
        Assert.True(report.MeanIoU >= 0.875, $"mean IoU {report.MeanIoU:0.0000} < 0.875");
        Assert.True(report.MeanMae <= 0.013, $"mean MAE {report.MeanMae:0.0000} > 0.013");
    }
}
