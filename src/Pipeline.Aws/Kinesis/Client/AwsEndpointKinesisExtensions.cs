namespace Pipeline.Aws.Kinesis.Client;

public static class AwsEndpointKinesisExtensions
{
    /// <summary>A Kinesis client for this endpoint, like <see cref="AwsEndpoint.CreateSqs"/> for SQS.</summary>
    public static KinesisClient CreateKinesis(this AwsEndpoint endpoint, HttpMessageHandler? handler = null, TimeProvider? timeProvider = null) =>
        new(endpoint, handler, timeProvider);
}
