using Microsoft.Extensions.Options;

namespace Pipeline.Client.Hosting;

/// <summary>Checks <see cref="BackgroundRemovalJobsOptions"/>; every message names the setting and what is wrong with it.</summary>
public sealed class BackgroundRemovalJobsOptionsValidator : IValidateOptions<BackgroundRemovalJobsOptions>
{
    public ValidateOptionsResult Validate(string? name, BackgroundRemovalJobsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        bool queue = !string.IsNullOrWhiteSpace(options.Queue);
        bool stream = !string.IsNullOrWhiteSpace(options.Stream);
        if (!queue && !stream)
        {
            failures.Add("BackgroundRemovalJobs: set Queue (an SQS queue name, URL or ARN) or Stream (a Kinesis stream name); neither is set.");
        }
        else if (queue && stream)
        {
            failures.Add($"BackgroundRemovalJobs: set Queue or Stream, not both (Queue is '{options.Queue}', Stream is '{options.Stream}').");
        }

        if (options.ServiceUrl is { } url
            && (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https")))
        {
            failures.Add($"BackgroundRemovalJobs: ServiceUrl must be an absolute http(s) URL (got '{url}').");
        }

        if (options.Region is { } region && string.IsNullOrWhiteSpace(region))
        {
            failures.Add("BackgroundRemovalJobs: Region must not be blank when set.");
        }

        if (options.IdempotencyTable is { } table && string.IsNullOrWhiteSpace(table))
        {
            failures.Add("BackgroundRemovalJobs: IdempotencyTable must not be blank when set.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
