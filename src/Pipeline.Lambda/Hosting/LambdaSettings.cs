using System.Globalization;
using Pipeline.Core.Storage;
using Pipeline.Lambda.Handlers;

namespace Pipeline.Lambda.Hosting;

/// <summary>
/// The function's configuration, read once at init from the environment (the contract with template.yaml):
/// <list type="bullet">
/// <item><c>BGPIPE_MODEL_PATH</c> — the model file (default <c>/opt/models/u2netp.onnx</c>, the ModelLayer);</item>
/// <item><c>BGPIPE_IDEMPOTENCY_TABLE</c> — DynamoDB idempotency table (required);</item>
/// <item><c>BGPIPE_BUCKETS</c> — comma-separated S3 bucket allow-list for sources and destinations (required);</item>
/// <item><c>BGPIPE_OUTPUT_PREFIX</c> — key prefix for jobs without a destination (optional; default <c>cutouts/</c>);</item>
/// <item><c>BGPIPE_DEADLINE_MARGIN_MS</c> — least time a record needs left to start (optional; default 2000);</item>
/// <item><c>AWS_ENDPOINT_URL</c> — an AWS-compatible endpoint for tests and LocalStack (optional).</item>
/// </list>
/// </summary>
public sealed record LambdaSettings
{
    public const string ModelPathVariable = "BGPIPE_MODEL_PATH";
    public const string IdempotencyTableVariable = "BGPIPE_IDEMPOTENCY_TABLE";
    public const string BucketsVariable = "BGPIPE_BUCKETS";
    public const string OutputPrefixVariable = "BGPIPE_OUTPUT_PREFIX";
    public const string DeadlineMarginVariable = "BGPIPE_DEADLINE_MARGIN_MS";
    public const string EndpointVariable = "AWS_ENDPOINT_URL";

    /// <summary>Where the ModelLayer puts the model.</summary>
    public const string DefaultModelPath = "/opt/models/u2netp.onnx";

    public required string ModelPath { get; init; }

    public required string IdempotencyTable { get; init; }

    public required IReadOnlyList<string> Buckets { get; init; }

    public string? OutputPrefix { get; init; }

    public string? EndpointUrl { get; init; }

    public DeadlineOptions Deadline { get; init; } = DeadlineOptions.Default;

    /// <summary>Reads and checks every variable; the first problem found is a <see cref="LambdaConfigurationException"/> naming it.</summary>
    public static LambdaSettings FromEnvironment(Func<string, string?> getEnv)
    {
        ArgumentNullException.ThrowIfNull(getEnv);
        string modelPath = NonEmpty(getEnv(ModelPathVariable)) ?? DefaultModelPath;
        string table = NonEmpty(getEnv(IdempotencyTableVariable))
            ?? throw new LambdaConfigurationException($"{IdempotencyTableVariable} is not set; it must name the DynamoDB idempotency table");
        string bucketList = NonEmpty(getEnv(BucketsVariable))
            ?? throw new LambdaConfigurationException($"{BucketsVariable} is not set; it must list the S3 buckets the function may read and write (comma-separated)");
        string[] buckets = bucketList.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (buckets.Length == 0)
        {
            throw new LambdaConfigurationException($"{BucketsVariable} '{bucketList}' lists no bucket");
        }

        foreach (string bucket in buckets)
        {
            if (!S3Uri.TryParse($"s3://{bucket}/x", out _, out string? error))
            {
                throw new LambdaConfigurationException($"{BucketsVariable} lists '{bucket}', which is not a bucket name: {error}");
            }
        }

        string? endpoint = NonEmpty(getEnv(EndpointVariable));
        if (endpoint is not null && (!Uri.TryCreate(endpoint, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https")))
        {
            throw new LambdaConfigurationException($"{EndpointVariable} '{endpoint}' is not an http(s) URL");
        }

        DeadlineOptions deadline = DeadlineOptions.Default;
        if (NonEmpty(getEnv(DeadlineMarginVariable)) is { } marginText)
        {
            if (!int.TryParse(marginText, NumberStyles.None, CultureInfo.InvariantCulture, out int marginMs) || marginMs > 900_000)
            {
                throw new LambdaConfigurationException($"{DeadlineMarginVariable} '{marginText}' must be whole milliseconds between 0 and 900000");
            }

            deadline = deadline with { MinimumMargin = TimeSpan.FromMilliseconds(marginMs) };
        }

        return new LambdaSettings
        {
            ModelPath = modelPath,
            IdempotencyTable = table,
            Buckets = buckets,
            OutputPrefix = NonEmpty(getEnv(OutputPrefixVariable)),
            EndpointUrl = endpoint,
            Deadline = deadline,
        };
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

/// <summary>A setting the function cannot start with; reported through <c>/init/error</c>.</summary>
public sealed class LambdaConfigurationException : Exception
{
    public LambdaConfigurationException(string message) : base(message) { }

    public LambdaConfigurationException(string message, Exception inner) : base(message, inner) { }

    public LambdaConfigurationException() { }
}
