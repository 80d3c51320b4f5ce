using System.Globalization;
using System.Text.Json;
using Amazon.SQS;
using Amazon.SQS.Model;

namespace Pipeline.Aws.Sqs;

/// <summary>A queue's redrive policy: where messages go, and after how many receives.</summary>
public sealed record SqsRedrivePolicy(string DeadLetterTargetArn, int MaxReceiveCount);

/// <summary>The attributes of a queue that the poller and the sender depend on.</summary>
public sealed record SqsQueueInfo
{
    public required string Url { get; init; }

    /// <summary>The queue's ARN, or null when the endpoint does not report it.</summary>
    public string? Arn { get; init; }

    public required TimeSpan VisibilityTimeout { get; init; }

    /// <summary>Largest message the queue accepts, in bytes (body plus message attributes).</summary>
    public required int MaximumMessageSize { get; init; }

    public SqsRedrivePolicy? RedrivePolicy { get; init; }

    public bool IsFifo { get; init; }

    /// <summary>The queue's name: the last path segment of its URL.</summary>
    public string Name => SqsQueues.NameOf(Url);
}

/// <summary>Resolves queues named by URL, name or ARN, and reads their attributes.</summary>
public static class SqsQueues
{
    private static readonly List<string> WantedAttributes = ["VisibilityTimeout", "MaximumMessageSize", "RedrivePolicy", "FifoQueue", "QueueArn"];

    /// <summary>
    /// Turns a queue URL, name or ARN (<c>arn:aws:sqs:region:account:name</c>) into its URL. A URL is returned as
    /// given; a name or ARN goes through GetQueueUrl (with the ARN's account as the owner).
    /// </summary>
    public static async Task<string> ResolveUrlAsync(IAmazonSQS sqs, string queue, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sqs);
        if (string.IsNullOrWhiteSpace(queue))
        {
            throw new ArgumentException("A queue URL, name or ARN is required (got an empty value).", nameof(queue));
        }

        if (queue.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || queue.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            return queue;
        }

        var request = new GetQueueUrlRequest { QueueName = queue };
        if (queue.StartsWith("arn:", StringComparison.Ordinal))
        {
            string[] parts = queue.Split(':');
            if (parts.Length != 6 || parts[2] != "sqs" || parts[5].Length == 0)
            {
                throw new ArgumentException($"'{queue}' is not an SQS queue ARN (expected arn:aws:sqs:<region>:<account>:<name>).", nameof(queue));
            }

            request.QueueName = parts[5];
            request.QueueOwnerAWSAccountId = parts[4].Length > 0 ? parts[4] : null;
        }

        try
        {
            GetQueueUrlResponse response = await sqs.GetQueueUrlAsync(request, cancellationToken).ConfigureAwait(false);
            return response.QueueUrl;
        }
        catch (QueueDoesNotExistException ex)
        {
            throw SqsQueueNotFoundException.For(queue, ex);
        }
    }

    /// <summary>Resolves the queue and reads VisibilityTimeout, MaximumMessageSize, RedrivePolicy, FifoQueue and QueueArn.</summary>
    public static async Task<SqsQueueInfo> DescribeAsync(IAmazonSQS sqs, string queue, CancellationToken cancellationToken = default)
    {
        string url = await ResolveUrlAsync(sqs, queue, cancellationToken).ConfigureAwait(false);
        GetQueueAttributesResponse response;
        try
        {
            response = await sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = url, AttributeNames = WantedAttributes }, cancellationToken).ConfigureAwait(false);
        }
        catch (QueueDoesNotExistException ex)
        {
            throw SqsQueueNotFoundException.For(queue, ex);
        }

        Dictionary<string, string> attributes = response.Attributes ?? [];
        return new SqsQueueInfo
        {
            Url = url,
            Arn = attributes.GetValueOrDefault("QueueArn"),
            VisibilityTimeout = TimeSpan.FromSeconds(ReadInt(attributes, "VisibilityTimeout", 30, url)),
            MaximumMessageSize = ReadInt(attributes, "MaximumMessageSize", SqsLimits.ClassicMaxRequestBytes, url),
            RedrivePolicy = ParseRedrivePolicy(attributes.GetValueOrDefault("RedrivePolicy"), url),
            IsFifo = string.Equals(attributes.GetValueOrDefault("FifoQueue"), "true", StringComparison.OrdinalIgnoreCase) || IsFifoName(url),
        };
    }

    /// <summary>FIFO queue names end in <c>.fifo</c>.</summary>
    public static bool IsFifoName(string queue) => queue.EndsWith(".fifo", StringComparison.Ordinal);

    /// <summary>The last path segment of a queue URL (or the name itself).</summary>
    public static string NameOf(string queueUrl)
    {
        ArgumentNullException.ThrowIfNull(queueUrl);
        int slash = queueUrl.TrimEnd('/').LastIndexOf('/');
        return slash < 0 ? queueUrl : queueUrl.TrimEnd('/')[(slash + 1)..];
    }

    /// <summary>Parses <c>{"deadLetterTargetArn": "...", "maxReceiveCount": 5}</c> (the count may be a string or a number).</summary>
    public static SqsRedrivePolicy? ParseRedrivePolicy(string? json, string queue)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(json);
            JsonElement root = doc.RootElement;
            string? arn = root.TryGetProperty("deadLetterTargetArn", out JsonElement a) ? a.GetString() : null;
            int? max = root.TryGetProperty("maxReceiveCount", out JsonElement m)
                ? m.ValueKind == JsonValueKind.Number ? m.GetInt32() : int.Parse(m.GetString() ?? "", NumberStyles.Integer, CultureInfo.InvariantCulture)
                : null;
            if (string.IsNullOrEmpty(arn) || max is null)
            {
                throw new FormatException("deadLetterTargetArn and maxReceiveCount are both required");
            }

            return new SqsRedrivePolicy(arn, max.Value);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or OverflowException)
        {
            throw new FormatException($"Queue {queue} has a RedrivePolicy that cannot be read ({ex.Message}): {json}", ex);
        }
    }

    private static int ReadInt(Dictionary<string, string> attributes, string name, int fallback, string queue)
    {
        if (!attributes.TryGetValue(name, out string? text))
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value)
            ? value
            : throw new FormatException($"Queue {queue} reports {name} '{text}', which is not a whole number.");
    }
}
