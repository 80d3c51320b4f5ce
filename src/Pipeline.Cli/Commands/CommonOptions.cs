using System.CommandLine;
using Pipeline.Aws;
using Pipeline.Core.Records;

namespace Pipeline.Cli.Commands;

/// <summary>Options that several commands share, parsed and checked the same way everywhere.</summary>
internal static class CommonOptions
{
    public static Option<string> Output() => new("--output")
    {
        Description = "What to write: cutout (PNG with alpha, the default) or mask (grey matte).",
        DefaultValueFactory = _ => "cutout",
    };

    public static Option<string?> Background() => new("--background")
    {
        Description = "Put the cut-out over this colour (#RRGGBB) instead of transparency.",
    };

    public static Option<string?> Model() => new("--model")
    {
        Description = "Another U²-Net-family (320) or ISNet-family (1024) ONNX model; a <model>.json descriptor may sit next to it.",
    };

    /// <summary>
    /// Loads and warms the model for a long-running command; false with an error line when the model is missing or
    /// does not match its descriptor.
    /// </summary>
    public static bool TryLoadModel(
        string? path,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Pipeline.BackgroundRemoval.Model.MatteModel? matte,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        matte = null;
        error = null;
        try
        {
            matte = Pipeline.BackgroundRemoval.Model.MatteModel.Load(path);
            matte.WarmUp();
            return true;
        }
        catch (Exception ex) when (ex is Pipeline.BackgroundRemoval.Model.ModelNotFoundException or Pipeline.BackgroundRemoval.Model.ModelDescriptorMismatchException)
        {
            matte?.Dispose();
            matte = null;
            error = ex.Message;
            return false;
        }
    }

    /// <summary>Checks --output and --background together; returns an error line or null.</summary>
    /// <summary>
    /// <c>--endpoint-url</c> and <c>--kinesis-endpoint-url</c> (the same endpoint unless it names another); on a bad URL,
    /// false and a message naming it.
    /// </summary>
    public static bool TryParseEndpoints(string? endpointUrl, string? kinesisEndpointUrl, out AwsEndpoint endpoint, out AwsEndpoint kinesisEndpoint, out string? error)
    {
        try
        {
            endpoint = AwsEndpoint.FromOption(endpointUrl);
            kinesisEndpoint = kinesisEndpointUrl is null ? endpoint : AwsEndpoint.FromOption(kinesisEndpointUrl);
            error = null;
            return true;
        }
        catch (ArgumentException ex)
        {
            endpoint = kinesisEndpoint = AwsEndpoint.Aws;
            error = ex.Message.Split(" (Parameter", 2)[0];
            return false;
        }
    }

    public static string? TryParseRequest(string output, string? background, out Pipeline.BackgroundRemoval.RemovalRequest request)
    {
        request = Pipeline.BackgroundRemoval.RemovalRequest.Cutout;
        OutputKind kind;
        if (string.Equals(output, "cutout", StringComparison.OrdinalIgnoreCase))
        {
            kind = OutputKind.Cutout;
        }
        else if (string.Equals(output, "mask", StringComparison.OrdinalIgnoreCase))
        {
            kind = OutputKind.Mask;
        }
        else
        {
            return $"--output must be 'cutout' or 'mask' (got '{output}')";
        }

        if (background is not null)
        {
            if (kind == OutputKind.Mask)
            {
                return "--background applies to cut-outs, not to --output mask";
            }

            if (!JsonJobDecoder.IsHexColour(background))
            {
                return $"--background must be a colour as #RRGGBB (got '{background}')";
            }
        }

        request = new Pipeline.BackgroundRemoval.RemovalRequest(kind, background);
        return null;
    }
}
