using System.Text.RegularExpressions;

namespace Pipeline.Aws.Mappings;

/// <summary>AWS's naming rules; each check returns null when the name is fine, else what is wrong.</summary>
public static partial class ResourceNames
{
    /// <summary>SQS: 1–80 letters, digits, hyphens and underscores; a FIFO queue's name ends in <c>.fifo</c> (counted).</summary>
    public static string? CheckQueueName(string name) =>
        QueueName().IsMatch(name) && name.Length <= 80 ? null : $"'{name}' is not a valid SQS queue name (1-80 letters, digits, '-' or '_', optionally ending in .fifo)";

    /// <summary>Kinesis: 1–128 letters, digits, '_', '-' and '.'.</summary>
    public static string? CheckStreamName(string name) =>
        StreamName().IsMatch(name) ? null : $"'{name}' is not a valid Kinesis stream name (1-128 letters, digits, '_', '-' or '.')";

    /// <summary>DynamoDB: 3–255 letters, digits, '_', '-' and '.'.</summary>
    public static string? CheckTableName(string name) =>
        TableName().IsMatch(name) ? null : $"'{name}' is not a valid DynamoDB table name (3-255 letters, digits, '_', '-' or '.')";

    /// <summary>S3: 3–63 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit.</summary>
    public static string? CheckBucketName(string name) =>
        BucketName().IsMatch(name) && !name.Contains("..", StringComparison.Ordinal)
            ? null
            : $"'{name}' is not a valid S3 bucket name (3-63 lower-case letters, digits, '-' or '.', starting and ending with a letter or digit)";

    [GeneratedRegex(@"^[A-Za-z0-9_-]+(\.fifo)?$")]
    private static partial Regex QueueName();

    [GeneratedRegex(@"^[A-Za-z0-9_.-]{1,128}$")]
    private static partial Regex StreamName();

    [GeneratedRegex(@"^[A-Za-z0-9_.-]{3,255}$")]
    private static partial Regex TableName();

    [GeneratedRegex(@"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    private static partial Regex BucketName();
}
