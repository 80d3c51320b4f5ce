using System.CommandLine;
using Pipeline.BackgroundRemoval;
using Pipeline.BackgroundRemoval.Imaging;
using Pipeline.BackgroundRemoval.Model;

namespace Pipeline.Cli.Commands;

/// <summary><c>bgpipe remove &lt;in&gt; &lt;out&gt;</c>: one image, in process, no queue.</summary>
internal static class RemoveCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("in") { Description = "Image to read (JPEG, PNG or WebP)." };
        var outputPath = new Argument<string>("out") { Description = "PNG to write." };
        Option<string> output = CommonOptions.Output();
        Option<string?> background = CommonOptions.Background();
        Option<string?> model = CommonOptions.Model();
        var command = new Command("remove", "Remove the background of one image.") { input, outputPath, output, background, model };
        command.SetAction(parse => Run(parse.GetValue(input)!, parse.GetValue(outputPath)!, parse.GetValue(output)!, parse.GetValue(background), parse.GetValue(model)));
        return command;
    }

    private static int Run(string input, string outputPath, string output, string? background, string? modelPath)
    {
        if (CommonOptions.TryParseRequest(output, background, out RemovalRequest request) is { } usage)
        {
            return Fail(usage, ExitCodes.Usage);
        }

        if (!File.Exists(input))
        {
            return Fail(Directory.Exists(input) ? $"{input} is a folder; use 'bgpipe backlog' for folders" : $"{input}: no such file", ExitCodes.Usage);
        }

        try
        {
            using MatteModel matte = MatteModel.Load(modelPath);
            var remover = new BackgroundRemover(matte);
            RemovalResult result = remover.Remove(File.ReadAllBytes(input), request, input);
            ImageEncoder.WriteAtomically(outputPath, result.Png);
            Console.WriteLine($"{input} -> {outputPath} ({result.Width}x{result.Height}, {result.Timings.Total.TotalMilliseconds:0} ms)");
            return ExitCodes.Ok;
        }
        catch (ImageRejectedException ex)
        {
            return Fail(ex.Message, ExitCodes.BadInput);
        }
        catch (Exception ex) when (ex is ModelNotFoundException or ModelDescriptorMismatchException)
        {
            return Fail(ex.Message, ExitCodes.Infrastructure);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Fail(ex.Message, ExitCodes.Infrastructure);
        }
    }

    private static int Fail(string message, int code)
    {
        Console.Error.WriteLine($"bgpipe remove: {message}");
        return code;
    }
}
