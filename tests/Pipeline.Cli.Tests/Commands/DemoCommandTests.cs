namespace Pipeline.Cli.Tests.Commands;

public sealed class DemoCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bgpipe-demo-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Given_poison_messages_When_the_demo_runs_Then_they_are_dead_lettered_and_the_exit_code_is_3()
    {
        Bgpipe.Result r = await Bgpipe.RunAsync("demo", "--jobs", "300", "--poison", "2", "--flaky-every", "0", "--state-dir", _dir);

        Assert.Equal(3, r.ExitCode);
        Assert.Matches(@"done\s+300\b", r.StdOut);
        Assert.Matches(@"dead-lettered\s+2\b", r.StdOut);
        Assert.Contains("receives 5", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_a_finished_demo_When_rerun_with_the_same_state_Then_every_job_is_skipped()
    {
        await Bgpipe.RunAsync("demo", "--jobs", "100", "--poison", "0", "--flaky-every", "0", "--state-dir", _dir);

        Bgpipe.Result again = await Bgpipe.RunAsync("demo", "--jobs", "100", "--poison", "0", "--flaky-every", "0", "--state-dir", _dir);

        Assert.Equal(0, again.ExitCode);
        Assert.Matches(@"done\s+0\b", again.StdOut);
        Assert.Matches(@"skipped\s+100\b", again.StdOut);
    }

    [Fact]
    public async Task Given_an_out_of_range_batch_size_When_the_demo_starts_Then_the_error_names_BatchSize()
    {
        Bgpipe.Result r = await Bgpipe.RunAsync("demo", "--batch-size", "0");

        Assert.Equal(2, r.ExitCode);
        Assert.Contains("BatchSize must be between 1 and 10,000", r.StdErr, StringComparison.Ordinal);
    }
}
