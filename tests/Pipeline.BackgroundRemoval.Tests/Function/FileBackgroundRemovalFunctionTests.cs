using Pipeline.BackgroundRemoval.Function;
using Pipeline.BackgroundRemoval.Tests.Fixtures;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using SkiaSharp;

namespace Pipeline.BackgroundRemoval.Tests.Function;

[Collection(ModelCollection.Name)]
public sealed class FileBackgroundRemovalFunctionTests : IDisposable
{
    private const int Width = 160;
    private const int Height = 120;

    private static readonly byte[] Jpeg = Drawn.ShapeOnTexture(Width, Height).Jpeg;

    private readonly Folders _folders = new();
    private readonly FileRoots _roots;
    private readonly RecordingCallLog _calls = new();
    private readonly FileBackgroundRemovalFunction _function;

    public FileBackgroundRemovalFunctionTests(ModelFixture fixture)
    {
        _roots = new FileRoots(_folders.In, _folders.Out);
        _function = new FileBackgroundRemovalFunction(_roots, fixture.Remover, _calls);
    }

    [Fact]
    public async Task Given_a_source_in_a_subfolder_When_invoked_Then_the_cutout_is_written_to_the_same_path_as_png()
    {
        Folders.Write(_folders.In, "sub/a.jpg", Jpeg);

        JobOutput output = await InvokeAsync(Job("sub/a.jpg"));

        string expected = Path.Combine(_folders.Out, "sub", "a.png");
        Assert.Equal(expected, output.Location);
        using SKBitmap png = SKBitmap.Decode(expected);
        Assert.Equal((Width, Height), (png.Width, png.Height));
        Assert.NotEqual(SKAlphaType.Opaque, png.AlphaType);
        Assert.Equal(["sub/a.png"], Folders.FilesUnder(_folders.Out));
    }

    [Fact]
    public async Task Given_a_mask_job_When_invoked_Then_the_grey_matte_is_written()
    {
        Folders.Write(_folders.In, "a.jpg", Jpeg);

        JobOutput output = await InvokeAsync(Job("a.jpg") with { Output = OutputKind.Mask });

        using SKBitmap png = SKBitmap.Decode(output.Location);
        Assert.Equal(SKColorType.Gray8, png.ColorType);
        Assert.Equal((Width, Height), (png.Width, png.Height));
        Assert.Equal(["a.png"], Folders.FilesUnder(_folders.Out));
    }

    [Fact]
    public async Task Given_an_explicit_destination_When_invoked_Then_the_output_is_written_there_and_nowhere_else()
    {
        Folders.Write(_folders.In, "a.jpg", Jpeg);

        JobOutput output = await InvokeAsync(Job("a.jpg", "results/2024/cut.png") with { Background = "#FFFFFF" });

        Assert.Equal(Path.Combine(_folders.Out, "results", "2024", "cut.png"), output.Location);
        using SKBitmap png = SKBitmap.Decode(output.Location);
        Assert.Equal(SKAlphaType.Opaque, png.AlphaType);
        Assert.Equal(["results/2024/cut.png"], Folders.FilesUnder(_folders.Out));
    }

    [Fact]
    public async Task Given_a_symlink_inside_the_input_folder_to_an_image_inside_When_invoked_Then_it_is_processed()
    {
        Folders.Write(_folders.In, "originals/a.jpg", Jpeg);
        File.CreateSymbolicLink(Path.Combine(_folders.In, "latest.jpg"), "originals/a.jpg");

        JobOutput output = await InvokeAsync(Job("latest.jpg"));

        Assert.Equal(Path.Combine(_folders.Out, "latest.png"), output.Location);
        Assert.Equal(["latest.png"], Folders.FilesUnder(_folders.Out));
    }

    [Theory]
    [InlineData("../outside/a.jpg", "source '../outside/a.jpg' escapes the input folder")]
    [InlineData("sub/../../outside/a.jpg", "source 'sub/../../outside/a.jpg' escapes the input folder")]
    [InlineData("/etc/passwd", "source '/etc/passwd' is an absolute path; jobs name files relative to the input folder")]
    [InlineData("C:\\x", "source 'C:\\x' is an absolute path; jobs name files relative to the input folder")]
    [InlineData("a\0.jpg", "source 'a\\0.jpg' contains a NUL character")]
    [InlineData("link.jpg", "source 'link.jpg' is a symlink to '{outside}/a.jpg', outside the input folder")]
    [InlineData("linked/a.jpg", "source 'linked/a.jpg' goes through 'linked', a symlink to '{outside}', outside the input folder")]
    public async Task Given_a_source_that_escapes_the_input_folder_When_invoked_Then_it_fails_permanently_with_the_reason_and_writes_nothing(string source, string reason)
    {
        Folders.Write(_folders.Outside, "a.jpg", Jpeg);
        File.CreateSymbolicLink(Path.Combine(_folders.In, "link.jpg"), Path.Combine(_folders.Outside, "a.jpg"));
        Directory.CreateSymbolicLink(Path.Combine(_folders.In, "linked"), _folders.Outside);
        string expected = reason.Replace("{outside}", _folders.Outside, StringComparison.Ordinal);

        var identity = await Assert.ThrowsAsync<PermanentJobException>(() => _function.GetSourceIdentityAsync(Job(source), default).AsTask());
        var invoke = await Assert.ThrowsAsync<PermanentJobException>(() => InvokeAsync(Job(source, "x.png")));

        Assert.Equal(expected, identity.Message);
        Assert.Equal(expected, invoke.Message);
        AssertNothingWritten();
    }

    [Theory]
    [InlineData("../x.png", "destination '../x.png' escapes the output folder")]
    [InlineData("/tmp/x.png", "destination '/tmp/x.png' is an absolute path; jobs name files relative to the output folder")]
    [InlineData("linked/x.png", "destination 'linked/x.png' goes through 'linked', a symlink to '{outside}', outside the output folder")]
    public async Task Given_a_destination_that_escapes_the_output_folder_When_invoked_Then_it_fails_permanently_and_writes_nothing(string destination, string reason)
    {
        Folders.Write(_folders.In, "a.jpg", Jpeg);
        Directory.CreateSymbolicLink(Path.Combine(_folders.Out, "linked"), _folders.Outside);

        var ex = await Assert.ThrowsAsync<PermanentJobException>(() => InvokeAsync(Job("a.jpg", destination)));

        Assert.Equal(reason.Replace("{outside}", _folders.Outside, StringComparison.Ordinal), ex.Message);
        AssertNothingWritten();
        Assert.False(File.Exists(Path.Combine(_folders.Base, "x.png")));
    }

    [Fact]
    public async Task Given_a_missing_source_When_its_identity_is_read_or_it_is_invoked_Then_it_fails_permanently()
    {
        var identity = await Assert.ThrowsAsync<PermanentJobException>(() => _function.GetSourceIdentityAsync(Job("gone.jpg"), default).AsTask());
        var invoke = await Assert.ThrowsAsync<PermanentJobException>(() => InvokeAsync(Job("gone.jpg")));

        Assert.Equal("source 'gone.jpg' does not exist", identity.Message);
        Assert.Equal("source 'gone.jpg' does not exist", invoke.Message);
        AssertNothingWritten();
    }

    [Fact]
    public async Task Given_a_folder_as_source_When_invoked_Then_it_fails_permanently()
    {
        Directory.CreateDirectory(Path.Combine(_folders.In, "album.jpg"));

        var ex = await Assert.ThrowsAsync<PermanentJobException>(() => InvokeAsync(Job("album.jpg")));

        Assert.Equal("source 'album.jpg' is a folder, not a file", ex.Message);
    }

    [Fact]
    public async Task Given_a_text_file_named_jpg_When_invoked_Then_it_fails_permanently_as_not_an_image()
    {
        Folders.Write(_folders.In, "notes.jpg", "hello, world"u8.ToArray());

        var ex = await Assert.ThrowsAsync<PermanentJobException>(() => InvokeAsync(Job("notes.jpg")));

        Assert.StartsWith("notes.jpg: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("not a recognised image", ex.Message, StringComparison.Ordinal);
        AssertNothingWritten();
    }

    [Fact]
    public async Task Given_a_bad_background_colour_When_invoked_Then_it_fails_permanently()
    {
        Folders.Write(_folders.In, "a.jpg", Jpeg);

        var ex = await Assert.ThrowsAsync<PermanentJobException>(() => InvokeAsync(Job("a.jpg") with { Background = "red" }));

        Assert.Equal("background 'red' must be a colour as #RRGGBB", ex.Message);
    }

    [Fact]
    public async Task Given_a_source_When_it_is_rewritten_with_other_content_Then_its_identity_changes()
    {
        string path = Folders.Write(_folders.In, "a.jpg", Jpeg);
        string? before = await _function.GetSourceIdentityAsync(Job("a.jpg"), default);
        string? again = await _function.GetSourceIdentityAsync(Job("a.jpg"), default);

        File.WriteAllBytes(path, Drawn.ShapeOnTexture(Width, Height, seed: 9).Jpeg.Concat(new byte[] { 0 }).ToArray());
        string? after = await _function.GetSourceIdentityAsync(Job("a.jpg"), default);

        var file = new FileInfo(path);
        Assert.Equal(before, again);
        Assert.NotEqual(before, after);
        Assert.Equal($"{file.Length}-{file.LastWriteTimeUtc.Ticks}", after);
    }

    [Fact]
    public async Task Given_a_call_log_When_jobs_are_invoked_Then_each_call_is_logged_once_when_it_starts_even_if_it_fails()
    {
        Folders.Write(_folders.In, "a.jpg", Jpeg);

        await InvokeAsync(Job("a.jpg"), key: "k1#1");
        await Assert.ThrowsAsync<PermanentJobException>(() => InvokeAsync(Job("missing.jpg"), key: "k2#2"));
        await InvokeAsync(Job("a.jpg"), key: "k1#1");

        Assert.Equal([("k1#1", "a.jpg"), ("k2#2", "missing.jpg"), ("k1#1", "a.jpg")], _calls.Calls);
    }

    [Fact]
    public async Task Given_an_existing_output_When_invoked_again_Then_it_is_replaced_and_no_temp_file_is_left()
    {
        Folders.Write(_folders.In, "a.jpg", Jpeg);
        Folders.Write(_folders.Out, "a.png", [1, 2, 3]);

        JobOutput output = await InvokeAsync(Job("a.jpg"));

        using SKBitmap png = SKBitmap.Decode(output.Location);
        Assert.Equal(Width, png.Width);
        Assert.Equal(["a.png"], Folders.FilesUnder(_folders.Out));
    }

    private Task<JobOutput> InvokeAsync(Job job, string key = "key") =>
        _function.InvokeAsync(job, new InvocationContext("m-1", 1, 1, key), default).AsTask();

    private void AssertNothingWritten()
    {
        Assert.Empty(Folders.FilesUnder(_folders.Out));
        Assert.DoesNotContain(Folders.FilesUnder(_folders.Outside), f => f.EndsWith(".png", StringComparison.Ordinal));
    }

    private static Job Job(string source, string? destination = null) =>
        new() { Source = source, Destination = destination, Key = "k" };

    public void Dispose() => _folders.Dispose();

    private sealed class RecordingCallLog : IFunctionCallLog
    {
        public List<(string Key, string Source)> Calls { get; } = [];

        public void Started(string key, string source) => Calls.Add((key, source));
    }
}
