using Pipeline.BackgroundRemoval.Evaluation;

namespace Pipeline.BackgroundRemoval.Tests.Evaluation;

public sealed class MatteMetricsTests
{
    private static byte[] Rect(int w, int h, int x0, int x1, byte value = 255)
    {
        var m = new byte[w * h];
        for (int y = 0; y < h; y++)
        {
            for (int x = x0; x < x1; x++)
            {
                m[(y * w) + x] = value;
            }
        }

        return m;
    }

    [Fact]
    public void Given_two_overlapping_bands_When_scored_Then_IoU_is_the_overlap_over_the_union()
    {
        // Columns 0-59 vs 30-89 on a 100-wide image: overlap 30, union 90.
        Assert.Equal(1.0 / 3.0, MatteMetrics.IoU(Rect(100, 10, 0, 60), Rect(100, 10, 30, 90)), 10);
    }

    [Fact]
    public void Given_alpha_exactly_at_one_half_When_thresholded_Then_it_counts_as_foreground()
    {
        Assert.Equal(1.0, MatteMetrics.IoU(Rect(10, 10, 0, 5, 128), Rect(10, 10, 0, 5, 255)));
        Assert.Equal(0.0, MatteMetrics.IoU(Rect(10, 10, 0, 5, 127), Rect(10, 10, 0, 5, 255)));
    }

    [Fact]
    public void Given_a_uniform_error_When_scored_Then_MAE_is_that_error_in_unit_range()
    {
        byte[] a = Enumerable.Repeat((byte)51, 400).ToArray();
        byte[] b = new byte[400];
        Assert.Equal(0.2, MatteMetrics.MeanAbsoluteError(a, b), 10);
    }

    [Fact]
    public void Given_two_empty_mattes_When_scored_Then_they_agree()
    {
        Assert.Equal(1.0, MatteMetrics.IoU(new byte[10], new byte[10]));
    }
}
