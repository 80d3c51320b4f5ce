using System.Globalization;
using System.Text;

namespace Pipeline.Aws.Provisioning;

/// <summary>
/// Renders a <see cref="ResourceList"/> as a LocalStack init script (awslocal commands for
/// /etc/localstack/init/ready.d). infra-sam/localstack/init-aws.sh is this output for <see cref="Committed"/> (what
/// template.yaml declares: the defaults plus the Kinesis stream with one shard); a test fails when the committed file
/// and the rendering differ.
/// </summary>
public static class InitScript
{
    /// <summary>Where the committed script lives, relative to the repository root.</summary>
    public const string RepositoryPath = "infra-sam/localstack/init-aws.sh";

    /// <summary>The list the committed script renders: <c>bgpipe provision --shards 1 --print-init-script</c>.</summary>
    public static ResourceList Committed => ResourceList.For(streamShards: 1);

    public static string Render(ResourceList resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        QueueResource dlq = resources.JobsDeadLetterQueue;
        QueueResource jobs = resources.JobsQueue;
        TableResource table = resources.IdempotencyTable;
        var s = new StringBuilder();
        s.Append("#!/bin/bash\n");
        s.Append("# bgpipe's resources for LocalStack (mount into /etc/localstack/init/ready.d). Safe to run again: it creates what\n");
        s.Append("# is missing and sets the queues' attributes back when they drifted.\n");
        s.Append("#\n");
        s.Append("# GENERATED from src/Pipeline.Aws/Provisioning/ResourceList.cs; do not edit by hand. Regenerate with\n");
        string shards = resources.JobsStream is { } listed ? string.Create(CultureInfo.InvariantCulture, $" --shards {listed.ShardCount}") : string.Empty;
        s.Append(CultureInfo.InvariantCulture, $"#   bgpipe provision{shards} --print-init-script > infra-sam/localstack/init-aws.sh\n");
        s.Append("# (tests/Pipeline.Aws.Tests/Provisioning/ResourceAgreementTests.cs fails while they differ).\n");
        s.Append(CultureInfo.InvariantCulture, $"# Function timeout {resources.FunctionTimeoutSeconds} s, so the jobs queue's visibility timeout is {jobs.VisibilityTimeoutSeconds} s.\n");
        s.Append("set -euo pipefail\n\n");

        s.Append(CultureInfo.InvariantCulture, $"# {dlq.LogicalId}: jobs that failed {jobs.MaxReceiveCount} receives.\n");
        AppendQueue(s, "dlq", dlq, null);
        s.Append("dlq_arn=$(awslocal sqs get-queue-attributes --queue-url \"$dlq_url\" --attribute-names QueueArn --query Attributes.QueueArn --output text)\n\n");

        s.Append(CultureInfo.InvariantCulture, $"# {jobs.LogicalId}: where applications send jobs.\n");
        AppendQueue(s, "jobs", jobs, "$dlq_arn");
        s.Append('\n');

        s.Append(CultureInfo.InvariantCulture, $"# {table.LogicalId}: deduplication records.\n");
        AppendTable(s, table.Name, table.PartitionKey, table.PartitionKeyType, table.BillingMode, table.ServerSideEncryption, table.IndexName, table.IndexPartitionKey);
        s.Append(CultureInfo.InvariantCulture, $"if [ \"$(awslocal dynamodb describe-time-to-live --table-name {table.Name} --query TimeToLiveDescription.TimeToLiveStatus --output text)\" != \"ENABLED\" ]; then\n");
        s.Append(CultureInfo.InvariantCulture, $"  awslocal dynamodb update-time-to-live --table-name {table.Name} --time-to-live-specification Enabled=true,AttributeName={table.TimeToLiveAttribute} >/dev/null\n");
        s.Append("fi\n");
        if (table.PointInTimeRecovery)
        {
            s.Append(CultureInfo.InvariantCulture, $"awslocal dynamodb update-continuous-backups --table-name {table.Name} --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true >/dev/null\n");
        }

        foreach (BucketResource bucket in resources.Buckets)
        {
            s.Append(CultureInfo.InvariantCulture, $"\n# {bucket.LogicalId}\n");
            s.Append(CultureInfo.InvariantCulture, $"awslocal s3api head-bucket --bucket {bucket.Name} >/dev/null 2>&1 || awslocal s3api create-bucket --bucket {bucket.Name} >/dev/null\n");
        }

        // Kinesis commands only when the list has a stream (provision --shards N, or a pipeline with a Kinesis event).
        if (resources.JobsStream is { } stream)
        {
            s.Append(CultureInfo.InvariantCulture, $"\n# {stream.LogicalId}: jobs in order per partition key ({stream.ShardCount} shard{(stream.ShardCount == 1 ? string.Empty : "s")}; a rerun never reshards).\n");
            s.Append(CultureInfo.InvariantCulture, $"if ! awslocal kinesis describe-stream-summary --stream-name {stream.Name} >/dev/null 2>&1; then\n");
            s.Append(CultureInfo.InvariantCulture, $"  awslocal kinesis create-stream --stream-name {stream.Name} --shard-count {stream.ShardCount}\n");
            s.Append(CultureInfo.InvariantCulture, $"  awslocal kinesis wait stream-exists --stream-name {stream.Name}\n");
            s.Append("fi\n");
        }

        if (resources.StreamFailuresQueue is { } failures)
        {
            s.Append(CultureInfo.InvariantCulture, $"\n# {failures.LogicalId}: records of batches the stream mapping discarded.\n");
            AppendQueue(s, "failures", failures, null);
        }

        if (resources.LeaseTable is { } leases)
        {
            s.Append(CultureInfo.InvariantCulture, $"\n# {leases.LogicalId}: which host reads which shard, and its checkpoint.\n");
            AppendTable(s, leases.Name, leases.PartitionKey, leases.PartitionKeyType, leases.BillingMode, leases.ServerSideEncryption);
        }

        s.Append("\necho \"bgpipe: resources ready\"\n");
        return s.ToString();
    }

    /// <summary>A DynamoDB table keyed by one string attribute, created only when missing; its index added when missing.</summary>
    private static void AppendTable(StringBuilder s, string name, string partitionKey, string partitionKeyType, string billingMode, bool serverSideEncryption, string? indexName = null, string? indexKey = null)
    {
        string indexAttribute = indexKey is null ? string.Empty : $" AttributeName={indexKey},AttributeType=S";
        string index = indexName is null ? string.Empty : $"IndexName={indexName},KeySchema=[{{AttributeName={indexKey},KeyType=HASH}}],Projection={{ProjectionType=ALL}}";
        s.Append(CultureInfo.InvariantCulture, $"if ! awslocal dynamodb describe-table --table-name {name} >/dev/null 2>&1; then\n");
        s.Append(CultureInfo.InvariantCulture, $"  awslocal dynamodb create-table --table-name {name} \\\n");
        s.Append(CultureInfo.InvariantCulture, $"    --attribute-definitions AttributeName={partitionKey},AttributeType={partitionKeyType}{indexAttribute} \\\n");
        s.Append(CultureInfo.InvariantCulture, $"    --key-schema AttributeName={partitionKey},KeyType=HASH \\\n");
        if (indexName is not null)
        {
            s.Append(CultureInfo.InvariantCulture, $"    --global-secondary-indexes '{index}' \\\n");
        }

        s.Append(CultureInfo.InvariantCulture, $"    --billing-mode {billingMode} --sse-specification Enabled={Bool(serverSideEncryption)} >/dev/null\n");
        s.Append(CultureInfo.InvariantCulture, $"  awslocal dynamodb wait table-exists --table-name {name}\n");
        if (indexName is not null)
        {
            // A table made before the index existed gets it on a rerun.
            s.Append(CultureInfo.InvariantCulture, $"elif ! awslocal dynamodb describe-table --table-name {name} --query 'Table.GlobalSecondaryIndexes[].IndexName' --output text | grep -qw -- '{indexName}'; then\n");
            s.Append(CultureInfo.InvariantCulture, $"  awslocal dynamodb update-table --table-name {name} --attribute-definitions{indexAttribute} \\\n");
            s.Append(CultureInfo.InvariantCulture, $"    --global-secondary-index-updates '[{{\"Create\":{{\"IndexName\":\"{indexName}\",\"KeySchema\":[{{\"AttributeName\":\"{indexKey}\",\"KeyType\":\"HASH\"}}],\"Projection\":{{\"ProjectionType\":\"ALL\"}}}}}}]' >/dev/null\n");
        }

        s.Append("fi\n");
    }

    private static void AppendQueue(StringBuilder s, string variable, QueueResource queue, string? deadLetterArnVariable)
    {
        // FifoQueue is fixed at creation; the rest is set afterwards so a rerun also repairs drift (create-queue
        // with differing attributes fails on an existing queue).
        string create = queue.Fifo ? " --attributes FifoQueue=true" : string.Empty;
        s.Append(CultureInfo.InvariantCulture, $"{variable}_url=$(awslocal sqs create-queue --queue-name {queue.Name}{create} --query QueueUrl --output text)\n");
        IReadOnlyDictionary<string, string> attributes = queue.Attributes(deadLetterArnVariable is null ? null : "%s", includeCreateOnly: false);
        string json = "{" + string.Join(",", attributes.Select(a => $"\"{a.Key}\":\"{a.Value.Replace("\"", "\\\\\"", StringComparison.Ordinal)}\"")) + "}";
        string argument = deadLetterArnVariable is null ? $"'{json}'" : $"\"$(printf '{json}' \"{deadLetterArnVariable}\")\"";
        s.Append(CultureInfo.InvariantCulture, $"awslocal sqs set-queue-attributes --queue-url \"${variable}_url\" --attributes {argument}\n");
    }

    private static string Bool(bool value) => value ? "true" : "false";
}
