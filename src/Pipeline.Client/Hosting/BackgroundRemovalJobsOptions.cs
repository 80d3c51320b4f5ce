namespace Pipeline.Client.Hosting;

/// <summary>
/// Where <see cref="IBackgroundRemovalJobs"/> sends jobs and reads their status, bound from configuration
/// (section <see cref="DefaultSectionName"/> by convention). Exactly one of <see cref="Queue"/> and
/// <see cref="Stream"/> must be set. Settable because the options pattern binds by setters; validated at start
/// (<c>ValidateOnStart</c>) by <see cref="BackgroundRemovalJobsOptionsValidator"/>.
/// </summary>
public sealed class BackgroundRemovalJobsOptions
{
    /// <summary>The conventional configuration section: <c>"BackgroundRemovalJobs"</c>.</summary>
    public const string DefaultSectionName = "BackgroundRemovalJobs";

    /// <summary>SQS transport: the jobs queue's name, URL or ARN. Default null.</summary>
    public string? Queue { get; set; }

    /// <summary>Kinesis transport: the jobs stream's name. Default null.</summary>
    public string? Stream { get; set; }

    /// <summary>An AWS-compatible endpoint (LocalStack, moto, ...) for every service; default null = AWS itself.</summary>
    public string? ServiceUrl { get; set; }

    /// <summary>The AWS region; default null = the SDK's chain (AWS_REGION, profile), or us-east-1 with <see cref="ServiceUrl"/>.</summary>
    public string? Region { get; set; }

    /// <summary>The pipeline's DynamoDB idempotency table, for job status; default null = status not available (unless an <c>IJobRecordLookup</c> is registered).</summary>
    public string? IdempotencyTable { get; set; }
}
