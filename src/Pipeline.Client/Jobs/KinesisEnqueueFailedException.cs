namespace Pipeline.Client.Jobs;

/// <summary>
/// Some jobs could not be written to the stream (retries used up, or the service refused the request outright);
/// the others were written. <see cref="JobIds"/> names the ones not sent, in input order, so they can be sent again.
/// </summary>
public sealed class KinesisEnqueueFailedException : Exception
{
    public KinesisEnqueueFailedException(string streamName, IReadOnlyList<string> jobIds, string lastError, Exception? inner = null)
        : base(Describe(streamName, jobIds, lastError), inner)
    {
        StreamName = streamName;
        JobIds = jobIds;
    }

    public KinesisEnqueueFailedException() : this(string.Empty, [], string.Empty) { }

    public KinesisEnqueueFailedException(string message) : base(message)
    {
        StreamName = string.Empty;
        JobIds = [];
    }

    public KinesisEnqueueFailedException(string message, Exception inner) : base(message, inner)
    {
        StreamName = string.Empty;
        JobIds = [];
    }

    public string StreamName { get; }

    /// <summary>The jobs that are not on the stream.</summary>
    public IReadOnlyList<string> JobIds { get; }

    private static string Describe(string streamName, IReadOnlyList<string> jobIds, string lastError)
    {
        const int Shown = 20;
        string names = string.Join(", ", jobIds.Take(Shown).Select(id => $"'{id}'"));
        string more = jobIds.Count > Shown ? $" and {jobIds.Count - Shown} more" : "";
        return $"{jobIds.Count} job(s) were not written to Kinesis stream '{streamName}' ({lastError}): {names}{more}.";
    }
}
