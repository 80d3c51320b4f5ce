using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.BackgroundRemoval.Evaluation;

/// <summary>One image of an evaluation set and its ground-truth matte, as listed in manifest.json.</summary>
public sealed record EvaluationItem(string Image, string Mask);

/// <summary>
/// An evaluation set: a folder with <c>manifest.json</c> of the shape of ../shared/data/composites
/// (<c>{"items":[{"image":"images/000.jpg","mask":"masks/000.png",...}]}</c>); paths are relative to the folder.
/// </summary>
public sealed class EvaluationSet
{
    private EvaluationSet(string directory, IReadOnlyList<EvaluationItem> items)
    {
        Directory = directory;
        Items = items;
    }

    public string Directory { get; }

    public IReadOnlyList<EvaluationItem> Items { get; }

    public static EvaluationSet Load(string directory)
    {
        string manifest = Path.Combine(directory, "manifest.json");
        if (!File.Exists(manifest))
        {
            throw new FileNotFoundException($"{directory}: no manifest.json (expected {{\"items\":[{{\"image\":...,\"mask\":...}}]}})", manifest);
        }

        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(manifest));
        if (!doc.RootElement.TryGetProperty("items", out JsonElement items) || items.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"{manifest}: missing the \"items\" array");
        }

        var list = new List<EvaluationItem>();
        int index = 0;
        foreach (JsonElement item in items.EnumerateArray())
        {
            string? image = item.TryGetProperty("image", out JsonElement i) ? i.GetString() : null;
            string? mask = item.TryGetProperty("mask", out JsonElement m) ? m.GetString() : null;
            if (string.IsNullOrEmpty(image) || string.IsNullOrEmpty(mask))
            {
                throw new InvalidDataException($"{manifest}: item {index} needs \"image\" and \"mask\"");
            }

            list.Add(new EvaluationItem(image, mask));
            index++;
        }

        return new EvaluationSet(directory, list);
    }

    public string PathOf(string relative) => Path.Combine(Directory, relative);
}

/// <summary>Figures for one image.</summary>
public sealed record ImageScore(
    [property: JsonPropertyName("image")] string Image,
    [property: JsonPropertyName("iou")] double IoU,
    [property: JsonPropertyName("mae")] double Mae,
    [property: JsonPropertyName("ms")] StageMilliseconds Milliseconds);

/// <summary>Per-stage milliseconds.</summary>
public sealed record StageMilliseconds(
    [property: JsonPropertyName("decode")] double Decode,
    [property: JsonPropertyName("pre")] double Pre,
    [property: JsonPropertyName("run")] double Run,
    [property: JsonPropertyName("post")] double Post,
    [property: JsonPropertyName("encode")] double Encode)
{
    public static StageMilliseconds From(StageTimings t) =>
        new(t.Decode.TotalMilliseconds, t.Pre.TotalMilliseconds, t.Run.TotalMilliseconds, t.Post.TotalMilliseconds, t.Encode.TotalMilliseconds);

    [JsonPropertyName("total")]
    public double Total => Decode + Pre + Run + Post + Encode;
}

/// <summary>The whole evaluation: per-image and mean figures (what <c>bgpipe eval --json</c> writes).</summary>
public sealed record EvaluationReport(
    [property: JsonPropertyName("set")] string Set,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("images")] int Images,
    [property: JsonPropertyName("meanIoU")] double MeanIoU,
    [property: JsonPropertyName("meanMae")] double MeanMae,
    [property: JsonPropertyName("meanMs")] StageMilliseconds MeanMilliseconds,
    [property: JsonPropertyName("perImage")] IReadOnlyList<ImageScore> PerImage);

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(EvaluationReport))]
public sealed partial class EvaluationJson : JsonSerializerContext;
