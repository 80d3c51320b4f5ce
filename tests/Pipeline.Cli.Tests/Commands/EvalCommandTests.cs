using System.Text.Json;
using SkiaSharp;

namespace Pipeline.Cli.Tests.Commands;

public sealed class EvalCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bgpipe-eval-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Given_a_set_with_a_manifest_When_evaluated_Then_means_are_printed_and_the_JSON_holds_every_image()
    {
        var items = new List<object>();
        for (int i = 0; i < 3; i++)
        {
            (byte[] jpeg, byte[] matte, int w, int h) = Images.ShapeOnTexture(seed: i);
            File.WriteAllBytes(Path.Combine(_dir, $"{i}.jpg"), jpeg);
            File.WriteAllBytes(Path.Combine(_dir, $"{i}.png"), Images.GreyPng(matte, w, h));
            items.Add(new { image = $"{i}.jpg", mask = $"{i}.png" });
        }

        File.WriteAllText(Path.Combine(_dir, "manifest.json"), JsonSerializer.Serialize(new { items }));
        string json = Path.Combine(_dir, "report.json");

        Bgpipe.Result r = await Bgpipe.RunAsync("eval", _dir, "--json", json);

        Assert.Equal(0, r.ExitCode);
        Assert.Contains("3 images", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("mean IoU", r.StdOut, StringComparison.Ordinal);
        using JsonDocument report = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(3, report.RootElement.GetProperty("perImage").GetArrayLength());
        double meanIoU = report.RootElement.GetProperty("meanIoU").GetDouble();
        Assert.InRange(meanIoU, 0.8, 1.0);
        Assert.All(report.RootElement.GetProperty("perImage").EnumerateArray(), e => Assert.True(e.GetProperty("mae").GetDouble() < 0.1));
    }

    [Fact]
    public async Task Given_a_folder_without_manifest_When_evaluated_Then_exit_code_2_with_one_line()
    {
        Bgpipe.Result r = await Bgpipe.RunAsync("eval", _dir);

        Assert.Equal(2, r.ExitCode);
        Assert.Contains("no manifest.json", Assert.Single(r.ErrorLines), StringComparison.Ordinal);
    }
}
