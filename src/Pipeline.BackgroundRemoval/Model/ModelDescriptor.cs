using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.BackgroundRemoval.Model;

/// <summary>
/// What a matting model needs around it: its square input size, the normalisation of its input, and which output
/// holds the matte. U²-Net-family models take 320x320, ISNet-family models 1024x1024. A descriptor can sit next to
/// a model as <c>&lt;model&gt;.json</c>; it is checked against the model's own metadata when the model loads.
/// </summary>
public sealed record ModelDescriptor
{
    /// <summary>Family name, for messages ("u2net", "isnet", or your own).</summary>
    public string Family { get; init; } = "u2net";

    /// <summary>Width and height of the square input (320 for U²-Net, 1024 for ISNet).</summary>
    public int InputSize { get; init; } = 320;

    /// <summary>Per-channel mean (R, G, B) subtracted after scaling to [0,1] and dividing by the image's maximum.</summary>
    public float[] Mean { get; init; } = [0.485f, 0.456f, 0.406f];

    /// <summary>Per-channel standard deviation (R, G, B).</summary>
    public float[] Std { get; init; } = [0.229f, 0.224f, 0.225f];

    /// <summary>Divide the [0,1] pixels by the image's maximum before normalising (rembg's pre-processing).</summary>
    public bool DivideByMax { get; init; } = true;

    /// <summary>The input's name; null takes the model's first input.</summary>
    public string? InputName { get; init; }

    /// <summary>The output holding the matte; null takes the model's first output.</summary>
    public string? OutputName { get; init; }

    /// <summary>U²-Net and U²-Net-p (rembg's u2net / u2netp): 320x320, ImageNet mean and std.</summary>
    public static ModelDescriptor U2Net { get; } = new();

    /// <summary>ISNet (rembg's isnet-general-use): 1024x1024, mean 0.5, std 1.</summary>
    public static ModelDescriptor IsNet { get; } = new()
    {
        Family = "isnet",
        InputSize = 1024,
        Mean = [0.5f, 0.5f, 0.5f],
        Std = [1f, 1f, 1f],
    };

    /// <summary>Checks the descriptor on its own; a message names the field that is wrong.</summary>
    public ModelDescriptor Validate(string source)
    {
        if (InputSize is < 16 or > 4096)
        {
            throw new ModelDescriptorMismatchException($"{source}: inputSize must be between 16 and 4096 (got {InputSize})");
        }

        if (Mean is not { Length: 3 } || Std is not { Length: 3 })
        {
            throw new ModelDescriptorMismatchException($"{source}: mean and std must each have 3 values (R, G, B)");
        }

        if (Std.Any(s => !(s > 0)))
        {
            throw new ModelDescriptorMismatchException($"{source}: every std value must be positive");
        }

        return this;
    }

    /// <summary>Reads a descriptor file: <c>{"family","inputSize","mean","std","divideByMax","inputName","outputName"}</c>.</summary>
    public static ModelDescriptor Load(string path)
    {
        try
        {
            using FileStream stream = File.OpenRead(path);
            DescriptorFile? d = JsonSerializer.Deserialize(stream, DescriptorJson.Default.DescriptorFile)
                ?? throw new ModelDescriptorMismatchException($"{path}: descriptor is empty");

            // Fields left out keep the U²-Net defaults.
            var defaults = new ModelDescriptor();
            return new ModelDescriptor
            {
                Family = d.Family ?? defaults.Family,
                InputSize = d.InputSize ?? defaults.InputSize,
                Mean = d.Mean ?? defaults.Mean,
                Std = d.Std ?? defaults.Std,
                DivideByMax = d.DivideByMax ?? defaults.DivideByMax,
                InputName = d.InputName,
                OutputName = d.OutputName,
            }.Validate(path);
        }
        catch (JsonException ex)
        {
            throw new ModelDescriptorMismatchException($"{path}: descriptor is not valid JSON: {ex.Message}", ex);
        }
    }

    /// <summary>The descriptor that sits next to <paramref name="modelPath"/> (<c>model.onnx.json</c> or <c>model.json</c>), if any.</summary>
    public static ModelDescriptor? FindSidecar(string modelPath)
    {
        foreach (string candidate in new[] { modelPath + ".json", Path.ChangeExtension(modelPath, ".json") })
        {
            if (File.Exists(candidate))
            {
                return Load(candidate);
            }
        }

        return null;
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, ReadCommentHandling = JsonCommentHandling.Skip)]
[JsonSerializable(typeof(DescriptorFile))]
internal sealed partial class DescriptorJson : JsonSerializerContext;

/// <summary>The descriptor file as written; every field optional.</summary>
internal sealed class DescriptorFile
{
    public string? Family { get; set; }

    public int? InputSize { get; set; }

    public float[]? Mean { get; set; }

    public float[]? Std { get; set; }

    public bool? DivideByMax { get; set; }

    public string? InputName { get; set; }

    public string? OutputName { get; set; }
}

/// <summary>The model and its descriptor disagree, or the descriptor itself is wrong.</summary>
public sealed class ModelDescriptorMismatchException : Exception
{
    public ModelDescriptorMismatchException(string message) : base(message) { }

    public ModelDescriptorMismatchException(string message, Exception inner) : base(message, inner) { }

    public ModelDescriptorMismatchException() { }
}

/// <summary>No model file where one was expected; the message says how to get one.</summary>
public sealed class ModelNotFoundException : Exception
{
    public ModelNotFoundException(string message) : base(message) { }

    public ModelNotFoundException(string message, Exception inner) : base(message, inner) { }

    public ModelNotFoundException() { }
}
