using System.Text;
using System.Text.Json;
using Pipeline.Core.Records;

namespace Pipeline.Client.Jobs;

/// <summary>
/// A job as an application asks for it; the body it becomes is the job message every bgpipe poller and the Lambda
/// handler decode: <c>{"jobId", "source", "destination"?, "output"?, "background"?}</c>.
/// </summary>
public sealed record JobRequest
{
    /// <summary>The image to cut out: an s3:// URI (or a path, for a host with file roots). Required.</summary>
    public required string Source { get; init; }

    /// <summary>Your id for the job (the idempotency key); default null = a new one is made when it is sent.</summary>
    public string? JobId { get; init; }

    /// <summary>Where the result goes; default null = beside the source (the function's default prefix).</summary>
    public string? Destination { get; init; }

    /// <summary>"cutout" (default) or "mask".</summary>
    public string? Output { get; init; }

    /// <summary>A background colour as #RRGGBB; default null = transparent.</summary>
    public string? Background { get; init; }

    /// <summary>
    /// Kinesis: the record's partition key (which shard it lands on, and so which records stay in order with it),
    /// 1 to 256 characters; default null = the job id. SQS FIFO queues use it as the message group id; standard SQS
    /// queues ignore it.
    /// </summary>
    public string? PartitionKey { get; init; }

    /// <summary>The most characters Kinesis takes in a partition key.</summary>
    public const int MaxPartitionKeyLength = 256;

    /// <summary><see cref="PartitionKey"/>, or <paramref name="jobId"/> when none is given; checked against Kinesis's 1..256 characters.</summary>
    /// <exception cref="JobValidationException">The key is empty or longer than 256 characters.</exception>
    public string PartitionKeyFor(string jobId)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        string key = PartitionKey ?? jobId;
        if (key.Length is < 1 or > MaxPartitionKeyLength)
        {
            string what = PartitionKey is null ? "its job id, used as the partition key," : "its partition key";
            throw new JobValidationException($"job '{jobId}': {what} must be 1 to {MaxPartitionKeyLength} characters (got {key.Length}).");
        }

        return key;
    }

    /// <summary>The message body for <paramref name="jobId"/>, checked with the pipeline's decoder.</summary>
    /// <exception cref="JobValidationException">The decoder refuses it; the message says why.</exception>
    public string ToBody(string jobId)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("jobId", jobId);
            json.WriteString("source", Source);
            Optional(json, "destination", Destination);
            Optional(json, "output", Output);
            Optional(json, "background", Background);
            json.WriteEndObject();
        }

        byte[] body = buffer.ToArray();
        if (!JsonJobDecoder.Instance.TryDecode(body, out _, out string? error))
        {
            throw new JobValidationException($"job '{jobId}' would be refused by the pipeline: {error}");
        }

        return Encoding.UTF8.GetString(body);
    }

    private static void Optional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }
}

/// <summary>A job the pipeline would refuse (nothing was sent); the message names the problem.</summary>
public sealed class JobValidationException : Exception
{
    public JobValidationException(string message) : base(message) { }

    public JobValidationException() { }

    public JobValidationException(string message, Exception inner) : base(message, inner) { }
}
