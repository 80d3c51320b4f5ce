using Amazon;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.SQS;

namespace Pipeline.Aws;

/// <summary>
/// Where AWS-facing clients go: an AWS-compatible endpoint (LocalStack, moto_server, fauxqs, dynalite) given by
/// <c>--endpoint-url</c>, or AWS itself through the SDK's default region and credentials chain.
/// </summary>
public sealed class AwsEndpoint
{
    /// <summary>The region assumed for local endpoints unless AWS_REGION says otherwise.</summary>
    public const string DefaultLocalRegion = "us-east-1";

    private AwsEndpoint(Uri? serviceUrl, string? region, AWSCredentials? credentials)
    {
        ServiceUrl = serviceUrl;
        Region = region;
        Credentials = credentials;
    }

    /// <summary>The endpoint URL, or null for AWS itself.</summary>
    public Uri? ServiceUrl { get; }

    /// <summary>The region, or null to let the SDK resolve it (AWS_REGION, profile).</summary>
    public string? Region { get; }

    /// <summary>Explicit credentials, or null for the SDK's default chain.</summary>
    public AWSCredentials? Credentials { get; }

    /// <summary>AWS itself: the SDK's default region and credential chains.</summary>
    public static AwsEndpoint Aws { get; } = new(null, null, null);

    /// <summary>AWS itself in <paramref name="region"/>, with the SDK's default credentials chain.</summary>
    public static AwsEndpoint InRegion(string region)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(region);
        return new(null, region, null);
    }

    /// <summary>
    /// An AWS-compatible endpoint. Credentials come from the environment when set (LocalStack accepts any);
    /// otherwise the dummy pair "test"/"test" is used, so no credential lookup ever leaves the machine.
    /// </summary>
    public static AwsEndpoint At(Uri serviceUrl, string? region = null)
    {
        ArgumentNullException.ThrowIfNull(serviceUrl);
        if (serviceUrl.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"--endpoint-url must be an http(s) URL, got '{serviceUrl}'.", nameof(serviceUrl));
        }

        var accessKey = Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID");
        var secretKey = Environment.GetEnvironmentVariable("AWS_SECRET_ACCESS_KEY");
        AWSCredentials credentials = string.IsNullOrEmpty(accessKey) || string.IsNullOrEmpty(secretKey)
            ? new BasicAWSCredentials("test", "test")
            : new BasicAWSCredentials(accessKey, secretKey);
        var resolvedRegion = region ?? Environment.GetEnvironmentVariable("AWS_REGION") ?? DefaultLocalRegion;
        return new AwsEndpoint(serviceUrl, resolvedRegion, credentials);
    }

    /// <summary>Parses the <c>--endpoint-url</c> option: null or empty means AWS itself.</summary>
    public static AwsEndpoint FromOption(string? endpointUrl, string? region = null)
    {
        if (string.IsNullOrWhiteSpace(endpointUrl))
        {
            return Aws;
        }

        return Uri.TryCreate(endpointUrl, UriKind.Absolute, out var uri)
            ? At(uri, region)
            : throw new ArgumentException($"--endpoint-url '{endpointUrl}' is not an absolute URL.", nameof(endpointUrl));
    }

    public IAmazonSQS CreateSqs() => Credentials is null ? new AmazonSQSClient(Configure(new AmazonSQSConfig())) : new AmazonSQSClient(Credentials, Configure(new AmazonSQSConfig()));

    public IAmazonDynamoDB CreateDynamoDb() => Credentials is null
        ? new AmazonDynamoDBClient(Configure(new AmazonDynamoDBConfig()))
        : new AmazonDynamoDBClient(Credentials, Configure(new AmazonDynamoDBConfig()));

    public IAmazonS3 CreateS3()
    {
        // Path-style addressing: emulators serve buckets under the path, not as subdomains of 127.0.0.1.
        var config = Configure(new AmazonS3Config { ForcePathStyle = ServiceUrl is not null });
        return Credentials is null ? new AmazonS3Client(config) : new AmazonS3Client(Credentials, config);
    }

    /// <summary>Applies the endpoint to any service's client config (the Kinesis client of a later issue reuses it).</summary>
    public T Configure<T>(T config) where T : ClientConfig
    {
        ArgumentNullException.ThrowIfNull(config);
        if (ServiceUrl is not null)
        {
            config.ServiceURL = ServiceUrl.ToString();
            config.AuthenticationRegion = Region;
        }
        else if (Region is not null)
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(Region);
        }

        return config;
    }

    public override string ToString() => ServiceUrl?.ToString() ?? "AWS (default chain)";
}
