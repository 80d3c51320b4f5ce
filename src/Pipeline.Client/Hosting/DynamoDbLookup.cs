using Amazon.DynamoDBv2;
using Pipeline.Core.Idempotency;

namespace Pipeline.Client.Hosting;

/// <summary>The job-record lookup over the pipeline's DynamoDB idempotency table.</summary>
internal static class DynamoDbLookup
{
    public static IJobRecordLookup Create(IAmazonDynamoDB dynamo, string table) =>
        throw new NotSupportedException($"Job status from DynamoDB table '{table}' needs DynamoDbIdempotencyStore to implement IJobRecordLookup (coming from main).");
}
