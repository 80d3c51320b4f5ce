using System.Text.Json;
using SkiaSharp;

namespace Pipeline.Cli.Tests.Commands;

/// <summary>bgpipe backlog end to end, as a process, on small generated sets.</summary>
public sealed class BacklogCommandTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bgpipe-backlog-").FullName;
    private readonly string _in;
    private readonly string _out;

    public BacklogCommandTests()
    {
        _in = Path.Combine(_root, "in");
        _out = Path.Combine(_root, "out");
        Directory.CreateDirectory(_in);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Photo(string relative, int seed = 1)
    {
        string path = Path.Combine(_in, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, Images.ShapeOnTexture(160, 120, seed).Jpeg);
    }

    private string[] Outputs() => !Directory.Exists(_out) ? [] : Directory.GetFiles(_out, "*.png", SearchOption.AllDirectories)
        .Select(p => Path.GetRelativePath(_out, p).Replace('\\', '/')).Order(StringComparer.Ordinal).ToArray();

    private List<JsonElement> DeadLetters() => File.ReadAllLines(Path.Combine(_out, "dead-letters.jsonl"))
        .Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    private static int Lines(string path) => File.Exists(path) ? File.ReadAllLines(path).Length : 0;

    [Fact]
    public async Task Given_a_folder_of_good_images_When_run_Then_each_gets_its_png_at_the_same_relative_path_and_exit_code_0()
    {
        Photo("a.jpg", 1);
        Photo("nested/deeper/b.jpg", 2);
        Photo("nested/c.JPG", 3);
        File.WriteAllText(Path.Combine(_in, "notes.txt"), "not an image, and not an image extension");
        string json = Path.Combine(_root, "summary.json");

        Bgpipe.Result r = await Bgpipe.RunAsync("backlog", _in, "--out", _out, "--json", json);

        Assert.Equal(0, r.ExitCode);
        Assert.Equal(["a.png", "nested/c.png", "nested/deeper/b.png"], Outputs());
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement s = summary.RootElement;
        Assert.Equal(3, s.GetProperty("done").GetInt64());
        Assert.Equal(0, s.GetProperty("skipped").GetInt64());
        Assert.Equal(0, s.GetProperty("deadLettered").GetInt64());
        Assert.True(s.GetProperty("elapsedSeconds").GetDouble() > 0);
        Assert.True(s.GetProperty("imagesPerSecond").GetDouble() > 0);
        Assert.Empty(DeadLetters());
        Assert.DoesNotContain(Directory.GetFiles(_out, ".*", SearchOption.AllDirectories), f => !f.Contains("/.bgpipe/", StringComparison.Ordinal));
        Assert.Contains("done", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_poison_files_When_run_Then_each_is_dead_lettered_after_five_receives_with_its_reason_and_the_rest_are_done()
    {
        Photo("good1.jpg", 1);
        Photo("good2.jpg", 2);
        File.WriteAllText(Path.Combine(_in, "text.jpg"), "hello, I am text");
        File.WriteAllBytes(Path.Combine(_in, "empty.jpg"), []);
        byte[] jpeg = Images.ShapeOnTexture(160, 120, 9).Jpeg;
        File.WriteAllBytes(Path.Combine(_in, "truncated.jpg"), jpeg[..(jpeg.Length / 2)]);
        File.WriteAllBytes(Path.Combine(_in, "bomb.png"), Images.PngDeclaring(25_000, 25_000));
        File.WriteAllBytes(Path.Combine(_in, "corrupt.png"), [.. Images.PngSignature, .. new byte[200].Select((_, i) => (byte)(i * 37))]);
        File.WriteAllBytes(Path.Combine(_in, "huge.jpg"), Images.LargeJpeg(7_600, 5_700)); // 43.3 MP
        string json = Path.Combine(_root, "summary.json");

        Bgpipe.Result r = await Bgpipe.RunAsync("backlog", _in, "--out", _out, "--json", json);

        Assert.Equal(3, r.ExitCode);
        Assert.Equal(["good1.png", "good2.png"], Outputs());
        var dead = DeadLetters().ToDictionary(d => d.GetProperty("source").GetString()!);
        Assert.Equal(6, dead.Count);
        Assert.All(dead.Values, d => Assert.Equal(5, d.GetProperty("receiveCount").GetInt32()));
        Assert.Contains("not a recognised image", dead["text.jpg"].GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Contains("empty", dead["empty.jpg"].GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Contains("truncated", dead["truncated.jpg"].GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Contains("25000x25000", dead["bomb.png"].GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Contains("corrupt", dead["corrupt.png"].GetProperty("reason").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("over the 40.0 MP limit", dead["huge.jpg"].GetProperty("reason").GetString(), StringComparison.Ordinal);
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(2, summary.RootElement.GetProperty("done").GetInt64());
        Assert.Equal(6, summary.RootElement.GetProperty("deadLettered").GetInt64());
        Assert.Contains("dead-lettered", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_a_finished_run_When_rerun_Then_done_images_are_skipped_and_dead_letters_stay_dead_until_retried()
    {
        Photo("a.jpg", 1);
        Photo("b.jpg", 2);
        File.WriteAllText(Path.Combine(_in, "bad.jpg"), "text");
        string calls = Path.Combine(_root, "calls.log");
        await Bgpipe.RunAsync("backlog", _in, "--out", _out, "--call-log", calls);
        int firstCalls = Lines(calls);
        Assert.Equal(3, firstCalls); // a, b, and bad once (its later receives fail fast)

        Bgpipe.Result rerun = await Bgpipe.RunAsync("backlog", _in, "--out", _out, "--call-log", calls, "--json", Path.Combine(_root, "s.json"));

        Assert.Equal(3, rerun.ExitCode);
        Assert.Equal(firstCalls, Lines(calls)); // nothing ran again
        using (JsonDocument s = JsonDocument.Parse(File.ReadAllText(Path.Combine(_root, "s.json"))))
        {
            Assert.Equal(0, s.RootElement.GetProperty("done").GetInt64());
            Assert.Equal(2, s.RootElement.GetProperty("skipped").GetInt64());
            Assert.Equal(1, s.RootElement.GetProperty("deadLettered").GetInt64());
        }

        Assert.Equal("bad.jpg", Assert.Single(DeadLetters()).GetProperty("source").GetString());

        Bgpipe.Result retried = await Bgpipe.RunAsync("backlog", _in, "--out", _out, "--call-log", calls, "--retry-dead-letters");

        Assert.Equal(3, retried.ExitCode); // still not an image
        Assert.Equal(firstCalls + 1, Lines(calls)); // but it really ran again

        File.WriteAllBytes(Path.Combine(_in, "bad.jpg"), Images.ShapeOnTexture(160, 120, 4).Jpeg);
        Bgpipe.Result fixedRun = await Bgpipe.RunAsync("backlog", _in, "--out", _out);
        Assert.Equal(0, fixedRun.ExitCode); // a changed source starts fresh
        Assert.Contains("bad.png", Outputs());
    }

    [Fact]
    public async Task Given_a_symlink_to_a_file_outside_the_input_folder_When_run_Then_it_fails_permanently_for_escaping_its_root()
    {
        Photo("inside.jpg");
        string outside = Path.Combine(_root, "secret.jpg");
        File.WriteAllBytes(outside, Images.ShapeOnTexture(160, 120, 5).Jpeg);
        File.CreateSymbolicLink(Path.Combine(_in, "link.jpg"), outside);

        Bgpipe.Result r = await Bgpipe.RunAsync("backlog", _in, "--out", _out);

        Assert.Equal(3, r.ExitCode);
        Assert.Equal(["inside.png"], Outputs());
        JsonElement dead = Assert.Single(DeadLetters());
        Assert.Equal("link.jpg", dead.GetProperty("source").GetString());
        Assert.Contains("outside the input folder", dead.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "backlog", "IN" }, 2, "--out")]
    [InlineData(new[] { "backlog", "MISSING", "--out", "OUT" }, 2, "no such folder")]
    [InlineData(new[] { "backlog", "IN", "--out", "OUT", "--concurrency", "0" }, 2, "--concurrency must be between 1 and 1000")]
    [InlineData(new[] { "backlog", "IN", "--out", "OUT", "--output", "jpeg" }, 2, "--output must be 'cutout' or 'mask'")]
    [InlineData(new[] { "backlog", "IN", "--out", "OUT", "--model", "NOPE.onnx" }, 1, "model file not found")]
    public async Task Given_bad_arguments_When_run_Then_the_exit_code_and_one_line_say_why(string[] args, int code, string expected)
    {
        string[] real = args.Select(a => a switch
        {
            "IN" => _in,
            "OUT" => _out,
            "MISSING" => Path.Combine(_root, "missing"),
            "NOPE.onnx" => Path.Combine(_root, "nope.onnx"),
            _ => a,
        }).ToArray();

        Bgpipe.Result r = await Bgpipe.RunAsync(real);

        Assert.Equal(code, r.ExitCode);
        Assert.Contains(expected, r.StdErr, StringComparison.Ordinal);
        Assert.False(r.HasStackTrace);
    }

    [Fact]
    public async Task Given_an_existing_output_When_the_run_rewrites_it_Then_it_is_replaced_whole_and_no_temp_file_remains()
    {
        Photo("a.jpg");
        Directory.CreateDirectory(_out);
        File.WriteAllText(Path.Combine(_out, "a.png"), "stale, not a png");

        Bgpipe.Result r = await Bgpipe.RunAsync("backlog", _in, "--out", _out);

        Assert.Equal(0, r.ExitCode);
        using SKBitmap png = SKBitmap.Decode(Path.Combine(_out, "a.png"));
        Assert.NotNull(png);
        Assert.Empty(Directory.GetFiles(_out, ".*"));
    }

    [Fact]
    public async Task Given_a_running_backlog_When_it_gets_SIGTERM_Then_it_stops_with_130_and_a_rerun_finishes_without_repeating_work()
    {
        for (int i = 0; i < 16; i++)
        {
            Photo($"p{i:D2}.jpg", i);
        }

        string calls = Path.Combine(_root, "calls.log");
        using (System.Diagnostics.Process p = Bgpipe.Start("backlog", _in, "--out", _out, "--call-log", calls))
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (Outputs().Length == 0 && !p.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2))
            {
                await Task.Delay(20);
            }

            using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await p.WaitForExitAsync(timeout.Token);
            Assert.Equal(130, p.ExitCode);
        }

        int stoppedAt = Outputs().Length;
        Assert.InRange(stoppedAt, 1, 15);
        int callsBefore = Lines(calls);
        Assert.Equal(stoppedAt, callsBefore); // everything started was finished; nothing else was started

        Bgpipe.Result rerun = await Bgpipe.RunAsync("backlog", _in, "--out", _out, "--call-log", calls);

        Assert.Equal(0, rerun.ExitCode);
        Assert.Equal(16, Outputs().Length);
        Assert.Equal(16, Lines(calls)); // no image ran twice
    }
}
