using System.Globalization;
using System.Text.Json;
using Pipeline.BackgroundRemoval.Model;

namespace Pipeline.Benchmarks.Backlog;

/// <summary>
/// <c>backlog-throughput &lt;images-dir&gt; [rounds]</c>: in one run, the bare ONNX Runtime loop and
/// <c>bgpipe backlog</c> take turns on the same images with the same model file, cores and SessionOptions (the
/// defaults both use). Prints images/s of each and the ratio pipeline / bare.
/// </summary>
internal static class ThroughputHarness
{
    public static async Task<int> RunAsync(string[] args)
    {
        string images = args.Length > 0 ? args[0] : "../shared/data/composites/images";
        int rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
        string[] files = Directory.GetFiles(images).Where(f => f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToArray();
        string work = Directory.CreateTempSubdirectory("bgpipe-tput-").FullName;
        var inv = CultureInfo.InvariantCulture;
        try
        {
            string model = ModelLocator.Resolve(null, out _);
            using Microsoft.ML.OnnxRuntime.SessionOptions options = MatteModel.CreateSessionOptions(MatteModelOptions.Default);
            using var bare = new BareOnnxLoop(model, options);
            bare.Process(File.ReadAllBytes(files[0])); // warm-up

            var bareRates = new List<double>();
            var pipeRates = new List<double>();
            for (int round = 0; round < rounds; round++)
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                foreach (string f in files)
                {
                    byte[] png = bare.Process(File.ReadAllBytes(f)).Png;
                    File.WriteAllBytes(Path.Combine(work, "bare.png"), png);
                }

                bareRates.Add(files.Length / clock.Elapsed.TotalSeconds);

                string output = Path.Combine(work, $"out-{round}");
                string json = Path.Combine(work, $"summary-{round}.json");
                int exit = await BgpipeProcess.RunAsync("backlog", images, "--out", output, "--json", json);
                if (exit != 0)
                {
                    Console.WriteLine($"backlog exited {exit}");
                    return 1;
                }

                using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(json));
                pipeRates.Add(summary.RootElement.GetProperty("imagesPerSecond").GetDouble());
                Console.WriteLine(string.Create(inv, $"round {round + 1}: bare {bareRates[^1]:0.000} images/s, pipeline {pipeRates[^1]:0.000} images/s, ratio {pipeRates[^1] / bareRates[^1]:0.000}"));
            }

            double ratio = pipeRates.Average() / bareRates.Average();
            Console.WriteLine(string.Create(inv, $"mean over {rounds} rounds, {files.Length} images, {Environment.ProcessorCount} cores, intra-op threads {MatteModelOptions.Default.IntraOpThreads}: bare {bareRates.Average():0.000}/s, pipeline {pipeRates.Average():0.000}/s, pipeline/bare = {ratio:0.000}"));
            return ratio >= 0.95 ? 0 : 1;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
