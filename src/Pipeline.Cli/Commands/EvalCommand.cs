using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Pipeline.BackgroundRemoval;
using Pipeline.BackgroundRemoval.Evaluation;
using Pipeline.BackgroundRemoval.Imaging;
using Pipeline.BackgroundRemoval.Model;

namespace Pipeline.Cli.Commands;

/// <summary><c>bgpipe eval &lt;set-dir&gt;</c>: mean IoU at alpha 0.5 and mean MAE against ground-truth mattes.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var set = new Argument<string>("set-dir") { Description = "Folder with manifest.json listing {image, mask} pairs." };
        var json = new Option<string?>("--json") { Description = "Write per-image and mean figures to this JSON file." };
        Option<string?> model = CommonOptions.Model();
        var command = new Command("eval", "Score the model on a set of images with ground-truth mattes.") { set, json, model };
        command.SetAction(parse => Run(parse.GetValue(set)!, parse.GetValue(json), parse.GetValue(model)));
        return command;
    }

    private static int Run(string setDir, string? jsonPath, string? modelPath)
    {
        EvaluationSet set;
        try
        {
            set = EvaluationSet.Load(setDir);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or JsonException or UnauthorizedAccessException)
        {
            return Fail(ex.Message, ExitCodes.Usage);
        }

        try
        {
            using MatteModel matte = MatteModel.Load(modelPath);
            var evaluator = new Evaluator(new BackgroundRemover(matte));
            EvaluationReport report = evaluator.Run(set, s => Console.WriteLine(
                string.Create(CultureInfo.InvariantCulture, $"  {s.Image,-24} IoU {s.IoU:0.0000}  MAE {s.Mae:0.0000}  {s.Milliseconds.Total,6:0} ms")));
            StageMilliseconds ms = report.MeanMilliseconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{report.Images} images, model {report.Model}: mean IoU {report.MeanIoU:0.0000}, mean MAE {report.MeanMae:0.0000}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"mean ms per image: decode {ms.Decode:0.0}, pre {ms.Pre:0.0}, run {ms.Run:0.0}, post {ms.Post:0.0}, encode {ms.Encode:0.0}, total {ms.Total:0.0}"));
            if (jsonPath is not null)
            {
                ImageEncoder.WriteAtomically(jsonPath, JsonSerializer.SerializeToUtf8Bytes(report, EvaluationJson.Default.EvaluationReport));
            }

            return ExitCodes.Ok;
        }
        catch (ImageRejectedException ex)
        {
            return Fail(ex.Message, ExitCodes.BadInput);
        }
        catch (Exception ex) when (ex is ModelNotFoundException or ModelDescriptorMismatchException or IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return Fail(ex.Message, ExitCodes.Infrastructure);
        }
    }

    private static int Fail(string message, int code)
    {
        Console.Error.WriteLine($"bgpipe eval: {message}");
        return code;
    }
}
