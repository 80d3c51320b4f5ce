using Pipeline.BackgroundRemoval.Function;

namespace Pipeline.BackgroundRemoval.Tests.Function;

public sealed class FileCallLogTests : IDisposable
{
    private readonly Folders _folders = new();

    [Fact]
    public void Given_a_call_log_file_When_calls_start_Then_each_is_one_line_readable_before_the_log_is_closed()
    {
        string path = Path.Combine(_folders.Base, "logs", "calls.tsv");
        using var log = new FileCallLog(path);

        log.Started("k1#10-5", "a.jpg");
        log.Started("k2#11-6", "sub/b.jpg");

        // Read while the writer is still open, as a crash test does after SIGKILL: every line is already in the file.
        Assert.Equal(["k1#10-5\ta.jpg", "k2#11-6\tsub/b.jpg"], ReadLines(path));
    }

    [Fact]
    public void Given_an_existing_log_When_a_second_log_opens_it_Then_lines_are_appended()
    {
        string path = Path.Combine(_folders.Base, "calls.tsv");
        using (var first = new FileCallLog(path))
        {
            first.Started("k1", "a.jpg");
        }

        using var second = new FileCallLog(path);
        second.Started("k1", "a.jpg");

        Assert.Equal(["k1\ta.jpg", "k1\ta.jpg"], ReadLines(path));
    }

    [Fact]
    public void Given_a_source_with_tabs_and_line_breaks_When_logged_Then_it_stays_on_one_line()
    {
        string path = Path.Combine(_folders.Base, "calls.tsv");
        using var log = new FileCallLog(path);

        log.Started("k", "a\tb\nc.jpg");

        Assert.Equal(["k\ta\\tb\\nc.jpg"], ReadLines(path));
    }

    private static string[] ReadLines(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public void Dispose() => _folders.Dispose();
}
