using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.SQS;
using Pipeline.Aws.Kinesis.Client;

namespace Pipeline.Aws.Provisioning;

/// <summary>The clients provision uses, and the endpoint's name for messages.</summary>
public sealed class ProvisioningClients : IDisposable
{
    public ProvisioningClients(IAmazonSQS sqs, IAmazonDynamoDB dynamoDb, IAmazonS3 s3, string endpointName, string? region, IKinesisClient? kinesis = null)
    {
        Kinesis = kinesis;
        Sqs = sqs;
        DynamoDb = dynamoDb;
        S3 = s3;
        EndpointName = endpointName;
        Region = region;
    }

    public IAmazonSQS Sqs { get; }

    public IAmazonDynamoDB DynamoDb { get; }

    public IAmazonS3 S3 { get; }

    /// <summary>Needed only for lists with a stream; null otherwise.</summary>
    public IKinesisClient? Kinesis { get; }

    public string EndpointName { get; }

    /// <summary>Buckets outside us-east-1 need it as their location constraint.</summary>
    public string? Region { get; }

    /// <summary>
    /// Clients for <paramref name="endpoint"/> that give up quickly when nobody answers: provision is interactive, so
    /// one retry and a short timeout beat the SDK's default backoff.
    /// <paramref name="kinesisEndpoint"/> serves Kinesis when it is given (a separate emulator such as kinesalite).
    /// </summary>
    public static ProvisioningClients For(AwsEndpoint endpoint, AwsEndpoint? kinesisEndpoint = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        T Quick<T>(T config) where T : ClientConfig
        {
            config.MaxErrorRetry = 1;
            config.Timeout = TimeSpan.FromSeconds(20);
            return endpoint.Configure(config);
        }

        AWSCredentials? credentials = endpoint.Credentials;
        AmazonSQSConfig sqsConfig = Quick(new AmazonSQSConfig());
        AmazonDynamoDBConfig ddbConfig = Quick(new AmazonDynamoDBConfig());
        AmazonS3Config s3Config = Quick(new AmazonS3Config { ForcePathStyle = endpoint.ServiceUrl is not null });
        return new ProvisioningClients(
            credentials is null ? new AmazonSQSClient(sqsConfig) : new AmazonSQSClient(credentials, sqsConfig),
            credentials is null ? new AmazonDynamoDBClient(ddbConfig) : new AmazonDynamoDBClient(credentials, ddbConfig),
            credentials is null ? new AmazonS3Client(s3Config) : new AmazonS3Client(credentials, s3Config),
            endpoint.ToString(),
            endpoint.Region,
            new KinesisClient(kinesisEndpoint ?? endpoint, requestTimeout: TimeSpan.FromSeconds(20)));
    }

    public void Dispose()
    {
        Sqs.Dispose();
        DynamoDb.Dispose();
        S3.Dispose();
        (Kinesis as IDisposable)?.Dispose();
    }
}
