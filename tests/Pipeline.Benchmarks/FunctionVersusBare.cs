using System.Globalization;
using Pipeline.BackgroundRemoval;
using Pipeline.BackgroundRemoval.Evaluation;
using Pipeline.BackgroundRemoval.Model;

namespace Pipeline.Benchmarks;

/// <summary>
/// <c>function-vs-bare &lt;set-dir&gt; [threads...]</c>: in one run, the function (BackgroundRemover) and the bare ONNX
/// Runtime loop take turns on each image with the same model file and the same SessionOptions. Prints per-image IoU of
/// each against the ground truth, their difference (must stay within 0.01), and per-stage times of both; then, for
/// each extra thread count, the bare loop's times, to choose the default intra-op thread count.
/// </summary>
internal static class FunctionVersusBare
{
    public static int Run(string[] args)
    {
        string setDir = args.Length > 0 ? args[0] : "../shared/data/composites";
        int[] sweep = args.Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray();
        EvaluationSet set = EvaluationSet.Load(setDir);
        var inv = CultureInfo.InvariantCulture;

        using MatteModel model = MatteModel.Load();
        var remover = new BackgroundRemover(model);
        using var bare = new BareOnnxLoop(model.Path, model.SessionOptions);
        Console.WriteLine($"model {model.Path}, intra-op threads {MatteModelOptions.Default.IntraOpThreads}, {set.Items.Count} images, {Environment.ProcessorCount} cores");

        // One untimed pass of each warms up both sessions.
        byte[] first = File.ReadAllBytes(set.PathOf(set.Items[0].Image));
        remover.Remove(first, RemovalRequest.Cutout);
        bare.Process(first);

        var fnMs = new double[5];
        var bareMs = new double[5];
        double fnIoU = 0, bareIoU = 0, fnMae = 0, maxDiff = 0;
        int worse = 0;
        foreach (EvaluationItem item in set.Items)
        {
            byte[] encoded = File.ReadAllBytes(set.PathOf(item.Image));
            RemovalResult fn = remover.Remove(encoded, RemovalRequest.Cutout, item.Image);
            (byte[] bareAlpha, _, double[] ms) = bare.Process(encoded);
            byte[] truth = Evaluator.LoadMatte(set.PathOf(item.Mask), fn.Width, fn.Height);
            double a = MatteMetrics.IoU(fn.Alpha, truth), b = MatteMetrics.IoU(bareAlpha, truth);
            fnIoU += a;
            bareIoU += b;
            fnMae += MatteMetrics.MeanAbsoluteError(fn.Alpha, truth);
            maxDiff = Math.Max(maxDiff, Math.Abs(a - b));
            worse += Math.Abs(a - b) > 0.01 ? 1 : 0;
            StageTimings t = fn.Timings;
            double[] f = [t.Decode.TotalMilliseconds, t.Pre.TotalMilliseconds, t.Run.TotalMilliseconds, t.Post.TotalMilliseconds, t.Encode.TotalMilliseconds];
            for (int s = 0; s < 5; s++)
            {
                fnMs[s] += f[s];
                bareMs[s] += ms[s];
            }

            Console.WriteLine(string.Create(inv, $"  {item.Image,-20} IoU function {a:0.0000} bare {b:0.0000} |diff| {Math.Abs(a - b):0.0000}  ms function {f.Sum(),6:0.0} bare {ms.Sum(),6:0.0}"));
        }

        int n = set.Items.Count;
        Console.WriteLine(string.Create(inv, $"mean IoU function {fnIoU / n:0.0000} (MAE {fnMae / n:0.0000}), bare {bareIoU / n:0.0000}; max per-image |diff| {maxDiff:0.0000}; images over 0.01: {worse}"));
        Console.WriteLine("mean ms per image   decode    pre     run    post  encode   total  images/s");
        Print("function", fnMs, n);
        Print("bare loop", bareMs, n);

        foreach (int threads in sweep)
        {
            using Microsoft.ML.OnnxRuntime.SessionOptions so = MatteModel.CreateSessionOptions(new MatteModelOptions { IntraOpThreads = threads });
            using var loop = new BareOnnxLoop(model.Path, so);
            loop.Process(first);
            var sum = new double[5];
            foreach (EvaluationItem item in set.Items)
            {
                double[] ms = loop.Process(File.ReadAllBytes(set.PathOf(item.Image))).Ms;
                for (int s = 0; s < 5; s++)
                {
                    sum[s] += ms[s];
                }
            }

            Print($"bare, {threads} thr", sum, n);
        }

        return worse == 0 ? 0 : 1;
    }

    private static void Print(string label, double[] sums, int n)
    {
        double total = sums.Sum() / n;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {label,-16} {sums[0] / n,6:0.0} {sums[1] / n,6:0.0} {sums[2] / n,7:0.0} {sums[3] / n,6:0.0} {sums[4] / n,6:0.0} {total,7:0.0} {1000 / total,8:0.00}"));
    }
}
