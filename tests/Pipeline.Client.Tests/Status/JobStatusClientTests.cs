using Microsoft.Extensions.Time.Testing;
using Pipeline.Client.Status;
using Pipeline.Client.Tests.Fakes;
using Pipeline.Core.Idempotency;

namespace Pipeline.Client.Tests.Status;

public sealed class JobStatusClientTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Now);
    private readonly ListJobRecordLookup _records = new();

    private JobStatusClient Client => new(_records, _time);

    private static IdempotencyRecord Record(string job, string identity, IdempotencyStatus status, DateTimeOffset? updated, DateTimeOffset? expiry = null, string? result = null, string? reason = null) =>
        new($"{job}#{identity}", status, "worker-1", expiry, "m-1", result, reason) { JobKey = job, UpdatedAt = updated };

    [Fact]
    public async Task Given_no_record_for_the_job_When_asked_Then_it_is_Pending_with_no_time()
    {
        _records.Records.Add(Record("other", "v1", IdempotencyStatus.Completed, Now, result: "s3://out/other.png"));

        JobStatus status = await Client.GetStatusAsync("job-1");

        Assert.Equal(new JobStatus("job-1", JobState.Pending, null, null, null), status);
    }

    [Fact]
    public async Task Given_a_live_claim_When_asked_Then_it_is_InProgress_with_the_claim_time()
    {
        _records.Records.Add(Record("job-1", "v1", IdempotencyStatus.InProgress, Now.AddSeconds(-5), expiry: Now.AddSeconds(30)));

        JobStatus status = await Client.GetStatusAsync("job-1");

        Assert.Equal(JobState.InProgress, status.State);
        Assert.Equal(Now.AddSeconds(-5), status.UpdatedAt);
    }

    [Fact]
    public async Task Given_a_claim_whose_expiry_is_now_When_asked_Then_it_is_still_InProgress_and_a_tick_later_Pending()
    {
        _records.Records.Add(Record("job-1", "v1", IdempotencyStatus.InProgress, Now.AddSeconds(-30), expiry: Now));

        Assert.Equal(JobState.InProgress, (await Client.GetStatusAsync("job-1")).State);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        JobStatus lapsed = await Client.GetStatusAsync("job-1");

        Assert.Equal(JobState.Pending, lapsed.State);
        Assert.Equal(Now.AddSeconds(-30), lapsed.UpdatedAt);
    }

    [Fact]
    public async Task Given_a_completed_record_When_asked_Then_it_is_Done_with_its_location()
    {
        _records.Records.Add(Record("job-1", "v1", IdempotencyStatus.Completed, Now.AddMinutes(-1), result: "s3://out/cat.png"));

        JobStatus status = await Client.GetStatusAsync("job-1");

        Assert.Equal(new JobStatus("job-1", JobState.Done, "s3://out/cat.png", null, Now.AddMinutes(-1)), status);
    }

    [Fact]
    public async Task Given_a_permanent_failure_When_asked_Then_it_is_Failed_with_the_reason()
    {
        _records.Records.Add(Record("job-1", "v1", IdempotencyStatus.FailedPermanent, Now.AddMinutes(-2), reason: "source not found: s3://in/cat.jpg"));

        JobStatus status = await Client.GetStatusAsync("job-1");

        Assert.Equal(new JobStatus("job-1", JobState.Failed, null, "source not found: s3://in/cat.jpg", Now.AddMinutes(-2)), status);
    }

    [Fact]
    public async Task Given_an_old_completed_run_and_a_newer_live_claim_for_a_changed_source_When_asked_Then_the_newest_decides()
    {
        _records.Records.Add(Record("job-1", "v1", IdempotencyStatus.Completed, Now.AddHours(-1), result: "s3://out/old.png"));
        _records.Records.Add(Record("job-1", "v2", IdempotencyStatus.InProgress, Now.AddSeconds(-1), expiry: Now.AddMinutes(1)));

        Assert.Equal(JobState.InProgress, (await Client.GetStatusAsync("job-1")).State);
    }

    [Fact]
    public async Task Given_an_old_failure_and_a_newer_completion_When_asked_Then_it_is_Done()
    {
        _records.Records.Add(Record("job-1", "v2", IdempotencyStatus.Completed, Now.AddMinutes(-1), result: "s3://out/new.png"));
        _records.Records.Add(Record("job-1", "v1", IdempotencyStatus.FailedPermanent, Now.AddHours(-1), reason: "corrupt"));

        JobStatus status = await Client.GetStatusAsync("job-1");

        Assert.Equal(JobState.Done, status.State);
        Assert.Equal("s3://out/new.png", status.ResultLocation);
    }

    [Fact]
    public async Task Given_the_store_cannot_be_read_When_asked_Then_it_throws_naming_the_job_with_the_cause_inside()
    {
        var cause = new InvalidOperationException("table not found");
        _records.Failure = cause;

        var error = await Assert.ThrowsAsync<JobStatusUnavailableException>(() => Client.GetStatusAsync("job-9"));

        Assert.Contains("job-9", error.Message, StringComparison.Ordinal);
        Assert.Same(cause, error.InnerException);
    }

    [Fact]
    public async Task Given_an_empty_job_id_When_asked_Then_it_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Client.GetStatusAsync(""));
    }
}
