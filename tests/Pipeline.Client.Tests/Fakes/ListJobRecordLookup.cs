using Pipeline.Core.Idempotency;

namespace Pipeline.Client.Tests.Fakes;

/// <summary>Records in a list; answers like the stores do: a job's records, newest change first, undated last.</summary>
internal sealed class ListJobRecordLookup : IJobRecordLookup
{
    public List<IdempotencyRecord> Records { get; } = [];

    public Exception? Failure { get; set; }

    public ValueTask<IReadOnlyList<IdempotencyRecord>> FindByJobKeyAsync(string jobKey, CancellationToken cancellationToken)
    {
        if (Failure is not null)
        {
            throw Failure;
        }

        IReadOnlyList<IdempotencyRecord> found = [.. Records
            .Where(r => r.JobKey == jobKey)
            .OrderByDescending(r => r.UpdatedAt.HasValue)
            .ThenByDescending(r => r.UpdatedAt)];
        return ValueTask.FromResult(found);
    }
}
