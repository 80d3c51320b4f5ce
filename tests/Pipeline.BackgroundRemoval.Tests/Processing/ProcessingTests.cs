using Pipeline.BackgroundRemoval.Model;
using Pipeline.BackgroundRemoval.Processing;
using SkiaSharp;

namespace Pipeline.BackgroundRemoval.Tests.Processing;

public sealed class ProcessingTests
{
    [Fact]
    public void Given_a_flat_colour_When_pre_processed_Then_pixels_are_divided_by_the_image_maximum_then_normalised()
    {
        using var image = new SKBitmap(new SKImageInfo(64, 48, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        image.Erase(new SKColor(100, 50, 200));

        float[] t = Preprocessor.ToTensor(image, ModelDescriptor.U2Net);

        Assert.Equal(3 * 320 * 320, t.Length);
        int plane = 320 * 320;
        // max = 200: R 100/200 = 0.5, G 0.25, B 1.0; then (x - mean) / std.
        Assert.Equal((0.5f - 0.485f) / 0.229f, t[0], 4);
        Assert.Equal((0.25f - 0.456f) / 0.224f, t[plane + 123], 4);
        Assert.Equal((1.0f - 0.406f) / 0.225f, t[(2 * plane) + 999], 4);
    }

    [Fact]
    public void Given_no_divide_by_max_When_pre_processed_Then_pixels_are_only_scaled_to_unit_range()
    {
        using var image = new SKBitmap(new SKImageInfo(8, 8, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        image.Erase(new SKColor(51, 51, 51));
        var descriptor = ModelDescriptor.U2Net with { DivideByMax = false, InputSize = 16, Mean = [0, 0, 0], Std = [1, 1, 1] };

        float[] t = Preprocessor.ToTensor(image, descriptor);

        Assert.All(t, v => Assert.Equal(0.2f, v, 4));
    }

    [Fact]
    public void Given_a_black_image_When_pre_processed_Then_no_value_is_NaN()
    {
        using var image = new SKBitmap(new SKImageInfo(10, 10, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        image.Erase(SKColors.Black);

        Assert.All(Preprocessor.ToTensor(image, ModelDescriptor.U2Net), v => Assert.False(float.IsNaN(v)));
    }

    [Fact]
    public void Given_a_raw_matte_When_post_processed_Then_it_is_min_max_normalised_to_the_full_byte_range()
    {
        var matte = new float[16 * 16];
        for (int i = 0; i < matte.Length; i++)
        {
            matte[i] = 3f + (i / (float)(matte.Length - 1)); // 3 .. 4
        }

        byte[] alpha = Postprocessor.ToAlpha(matte, 16, 16, 16);

        Assert.Equal(0, alpha[0]);
        Assert.Equal(255, alpha[^1]);
        Assert.Equal(128, alpha[128], 1.0); // the middle of the range lands mid-grey
    }

    [Fact]
    public void Given_a_matte_When_resized_to_the_image_Then_the_alpha_has_one_byte_per_pixel_and_keeps_its_layout()
    {
        var matte = new float[320 * 320];
        for (int y = 0; y < 320; y++)
        {
            for (int x = 160; x < 320; x++)
            {
                matte[(y * 320) + x] = 1f; // right half foreground
            }
        }

        byte[] alpha = Postprocessor.ToAlpha(matte, 320, 640, 480);

        Assert.Equal(640 * 480, alpha.Length);
        Assert.Equal(0, alpha[(240 * 640) + 10]);
        Assert.Equal(255, alpha[(240 * 640) + 630]);
    }

    [Fact]
    public void Given_a_flat_matte_When_post_processed_Then_it_is_all_background()
    {
        Assert.All(Postprocessor.ToAlpha(new float[20 * 20].Select(_ => 0.7f).ToArray(), 20, 20, 20), a => Assert.Equal(0, a));
    }
}
