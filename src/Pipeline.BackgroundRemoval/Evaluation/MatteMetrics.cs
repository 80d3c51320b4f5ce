namespace Pipeline.BackgroundRemoval.Evaluation;

/// <summary>
/// The two figures of ../shared/data/README.md: IoU of the mattes thresholded at alpha 0.5 (0.5 counts as
/// foreground), and the mean absolute error of alpha in [0,1] over all pixels.
/// </summary>
public static class MatteMetrics
{
    /// <summary>An 8-bit alpha is foreground when alpha / 255 >= 0.5, i.e. alpha >= 128.</summary>
    public const byte ForegroundThreshold = 128;

    public static double IoU(ReadOnlySpan<byte> predicted, ReadOnlySpan<byte> truth)
    {
        CheckSameSize(predicted, truth);
        long intersection = 0, union = 0;
        for (int i = 0; i < predicted.Length; i++)
        {
            bool p = predicted[i] >= ForegroundThreshold;
            bool t = truth[i] >= ForegroundThreshold;
            intersection += p && t ? 1 : 0;
            union += p || t ? 1 : 0;
        }

        // Two empty mattes agree perfectly.
        return union == 0 ? 1.0 : (double)intersection / union;
    }

    public static double MeanAbsoluteError(ReadOnlySpan<byte> predicted, ReadOnlySpan<byte> truth)
    {
        CheckSameSize(predicted, truth);
        if (predicted.IsEmpty)
        {
            return 0;
        }

        long sum = 0;
        for (int i = 0; i < predicted.Length; i++)
        {
            sum += Math.Abs(predicted[i] - truth[i]);
        }

        return sum / 255.0 / predicted.Length;
    }

    private static void CheckSameSize(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"mattes differ in size ({a.Length} vs {b.Length} pixels)");
        }
    }
}
