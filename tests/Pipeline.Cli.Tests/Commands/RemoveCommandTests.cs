using SkiaSharp;

namespace Pipeline.Cli.Tests.Commands;

public sealed class RemoveCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bgpipe-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Photo()
    {
        string path = Path.Combine(_dir, "photo.jpg");
        File.WriteAllBytes(path, Images.ShapeOnTexture().Jpeg);
        return path;
    }

    [Fact]
    public async Task Given_a_photo_When_removed_Then_a_PNG_with_alpha_is_written_and_the_exit_code_is_0()
    {
        string output = Path.Combine(_dir, "out", "cut.png");

        Bgpipe.Result r = await Bgpipe.RunAsync("remove", Photo(), output);

        Assert.Equal(0, r.ExitCode);
        using SKBitmap png = SKBitmap.Decode(output);
        Assert.NotEqual(SKAlphaType.Opaque, png.AlphaType);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(output)!, ".*")); // no temp file left behind
    }

    [Fact]
    public async Task Given_output_mask_When_removed_Then_the_PNG_is_grey()
    {
        string output = Path.Combine(_dir, "mask.png");

        Bgpipe.Result r = await Bgpipe.RunAsync("remove", Photo(), output, "--output", "mask");

        Assert.Equal(0, r.ExitCode);
        using SKBitmap png = SKBitmap.Decode(output);
        Assert.Equal(SKColorType.Gray8, png.ColorType);
    }

    [Theory]
    [InlineData("--output", "gif", "--output must be 'cutout' or 'mask' (got 'gif')")]
    [InlineData("--background", "green", "--background must be a colour as #RRGGBB (got 'green')")]
    public async Task Given_a_bad_option_When_removing_Then_one_clear_line_and_exit_code_2(string option, string value, string expected)
    {
        Bgpipe.Result r = await Bgpipe.RunAsync("remove", Photo(), Path.Combine(_dir, "x.png"), option, value);

        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"bgpipe remove: {expected}", Assert.Single(r.ErrorLines));
        Assert.False(r.HasStackTrace);
    }

    [Fact]
    public async Task Given_a_text_file_named_jpg_When_removed_Then_it_is_refused_with_exit_code_4_and_no_output()
    {
        string input = Path.Combine(_dir, "note.jpg");
        File.WriteAllText(input, "this is not a picture");
        string output = Path.Combine(_dir, "note.png");

        Bgpipe.Result r = await Bgpipe.RunAsync("remove", input, output);

        Assert.Equal(4, r.ExitCode);
        string line = Assert.Single(r.ErrorLines);
        Assert.Contains("note.jpg: not a recognised image", line, StringComparison.Ordinal);
        Assert.False(r.HasStackTrace);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public async Task Given_a_truncated_jpeg_When_removed_Then_the_reason_says_truncated()
    {
        byte[] jpeg = Images.ShapeOnTexture().Jpeg;
        string input = Path.Combine(_dir, "half.jpg");
        File.WriteAllBytes(input, jpeg[..(jpeg.Length / 2)]);

        Bgpipe.Result r = await Bgpipe.RunAsync("remove", input, Path.Combine(_dir, "half.png"));

        Assert.Equal(4, r.ExitCode);
        Assert.Contains("truncated", Assert.Single(r.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_a_missing_input_or_model_When_removing_Then_each_gets_one_line_naming_it()
    {
        Bgpipe.Result missing = await Bgpipe.RunAsync("remove", Path.Combine(_dir, "nope.jpg"), Path.Combine(_dir, "x.png"));
        Bgpipe.Result model = await Bgpipe.RunAsync("remove", Photo(), Path.Combine(_dir, "x.png"), "--model", Path.Combine(_dir, "nope.onnx"));

        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("nope.jpg: no such file", Assert.Single(missing.ErrorLines), StringComparison.Ordinal);
        Assert.Equal(1, model.ExitCode);
        Assert.Contains("model file not found", Assert.Single(model.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_no_arguments_When_removing_Then_usage_error_exit_code_2()
    {
        Bgpipe.Result r = await Bgpipe.RunAsync("remove");

        Assert.Equal(2, r.ExitCode);
        Assert.False(r.HasStackTrace);
    }
}
