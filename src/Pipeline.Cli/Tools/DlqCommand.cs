using System.CommandLine;
using System.Globalization;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Aws;
using Pipeline.Aws.DynamoDb;
using Pipeline.Aws.Mappings;
using Pipeline.Aws.Sqs;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Records;

namespace Pipeline.Cli.Tools;

/// <summary>
/// <c>bgpipe dlq list|redrive --queue NAME</c>: the dead letters of a jobs queue (found through its RedrivePolicy; the
/// DLQ itself may be named too) with why each died, read from the idempotency table's FAILED_PERMANENT records; and the
/// redrive that sends them back to the source queue and clears those records so the jobs really run again.
/// </summary>
internal static class DlqCommand
{
    /// <summary>How long a listed message stays hidden while the listing pages through the DLQ; made visible again at the end.</summary>
    private static readonly int ListVisibilitySeconds = 30;

    private sealed record Settings(string? EndpointUrl, string Queue, string? Table, string? Pipeline, string Prefix, int? Max);

    public static Command Create()
    {
        var dlq = new Command("dlq", "Inspect and redrive the dead-letter queue of a jobs queue.");
        dlq.Subcommands.Add(Sub("list", "List the dead letters with their receive count, job and why they failed.", withMax: false));
        dlq.Subcommands.Add(Sub("redrive", "Move the dead letters back to the source queue and clear their permanent-failure records.", withMax: true));
        return dlq;
    }

    private static Command Sub(string name, string description, bool withMax)
    {
        var endpoint = new Option<string?>("--endpoint-url") { Description = "An AWS-compatible endpoint (LocalStack, moto_server); without it, AWS through the default credentials chain." };
        var queue = new Option<string>("--queue") { Description = "The source (jobs) queue whose DLQ to use, by name, URL or ARN; the DLQ itself is accepted too.", Required = true };
        var table = new Option<string?>("--table") { Description = "The DynamoDB idempotency table (default: the pipeline's Function.IdempotencyTable, else 'idempotency'; gets --prefix)." };
        var pipeline = new Option<string?>("--pipeline") { Description = "Take the idempotency table from this pipelines/*.yaml file." };
        var prefix = new Option<string>("--prefix") { Description = "Prefix of the table name, as given to 'bgpipe provision'.", DefaultValueFactory = _ => string.Empty };
        var max = new Option<int?>("--max") { Description = "Redrive at most this many messages (default: all)." };
        var command = new Command(name, description) { endpoint, queue, table, pipeline, prefix };
        if (withMax)
        {
            command.Options.Add(max);
        }

        command.SetAction((parse, ct) => RunAsync(
            name,
            new Settings(parse.GetValue(endpoint), parse.GetValue(queue)!, parse.GetValue(table), parse.GetValue(pipeline), parse.GetValue(prefix) ?? string.Empty, withMax ? parse.GetValue(max) : null),
            ct));
        return command;
    }

    private static async Task<int> RunAsync(string verb, Settings s, CancellationToken ct)
    {
        if (s.Max is { } m && m < 1)
        {
            return Fail(verb, $"--max must be at least 1 (got {m})", ExitCodes.Usage);
        }

        if (string.IsNullOrWhiteSpace(s.Queue))
        {
            return Fail(verb, "--queue must name a queue (got an empty value)", ExitCodes.Usage);
        }

        string table;
        try
        {
            table = s.Prefix + (s.Table ?? (s.Pipeline is null ? FunctionDefinition.DefaultIdempotencyTable : PipelineDefinitionLoader.LoadFile(s.Pipeline).Function.IdempotencyTable));
        }
        catch (MappingDefinitionException ex)
        {
            return Fail(verb, ex.Message, ExitCodes.Usage);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Fail(verb, $"cannot read {s.Pipeline}: {ex.Message}", ExitCodes.Usage);
        }

        AwsEndpoint endpoint;
        try
        {
            endpoint = AwsEndpoint.FromOption(s.EndpointUrl);
        }
        catch (ArgumentException ex)
        {
            return Fail(verb, ex.Message.Split(" (Parameter", 2)[0], ExitCodes.Usage);
        }

        using IAmazonSQS sqs = endpoint.CreateSqs();
        using IAmazonDynamoDB dynamoDb = endpoint.CreateDynamoDb();
        using IAmazonS3 s3 = endpoint.CreateS3();
        IIdempotencyStore store = new DynamoDbIdempotencyStore(dynamoDb, new DynamoDbIdempotencyStoreOptions { TableName = table }, NullLogger<DynamoDbIdempotencyStore>.Instance);
        try
        {
            (SqsQueueInfo source, SqsQueueInfo deadLetters) = await PairAsync(sqs, s.Queue, ct).ConfigureAwait(false);
            return verb == "list"
                ? await ListAsync(sqs, store, s3, source, deadLetters, ct).ConfigureAwait(false)
                : await RedriveAsync(sqs, store, source, deadLetters, s.Max, ct).ConfigureAwait(false);
        }
        catch (SqsQueueNotFoundException ex)
        {
            return Fail(verb, $"{ex.Message} at {endpoint}", ExitCodes.Usage);
        }
        catch (DeadLetterQueueNotFoundException ex)
        {
            return Fail(verb, ex.Message, ExitCodes.Usage);
        }
        catch (Amazon.DynamoDBv2.Model.ResourceNotFoundException ex)
        {
            return Fail(verb, $"the idempotency table {table} does not exist at {endpoint} ({ex.Message}); give --table or --pipeline", ExitCodes.Usage);
        }
        catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException or FormatException)
        {
            return Fail(verb, $"{endpoint}: {ex.Message}", ExitCodes.Infrastructure);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return Fail(verb, "interrupted; what was printed above is done, the rest is still on the DLQ", ExitCodes.Interrupted);
        }
    }

    /// <summary>The source queue and its DLQ, from the source's RedrivePolicy, or from the DLQ back to its source.</summary>
    private static async Task<(SqsQueueInfo Source, SqsQueueInfo DeadLetters)> PairAsync(IAmazonSQS sqs, string queue, CancellationToken ct)
    {
        SqsQueueInfo named = await SqsQueues.DescribeAsync(sqs, queue, ct).ConfigureAwait(false);
        if (named.RedrivePolicy is { } policy)
        {
            SqsQueueInfo dlq = await SqsQueues.DescribeAsync(sqs, policy.DeadLetterTargetArn, ct).ConfigureAwait(false);
            return (named, dlq);
        }

        ListDeadLetterSourceQueuesResponse sources = await sqs.ListDeadLetterSourceQueuesAsync(new ListDeadLetterSourceQueuesRequest { QueueUrl = named.Url }, ct).ConfigureAwait(false);
        List<string> urls = sources.QueueUrls ?? [];
        return urls.Count switch
        {
            1 => (await SqsQueues.DescribeAsync(sqs, urls[0], ct).ConfigureAwait(false), named),
            0 => throw new DeadLetterQueueNotFoundException($"queue {named.Name} has no RedrivePolicy and no queue dead-letters to it; name a jobs queue provisioned with a DLQ ('bgpipe provision')"),
            _ => throw new DeadLetterQueueNotFoundException($"{urls.Count} queues dead-letter to {named.Name} ({string.Join(", ", urls.Select(SqsQueues.NameOf))}); name the source queue"),
        };
    }

    private static async Task<int> ListAsync(IAmazonSQS sqs, IIdempotencyStore store, IAmazonS3 s3, SqsQueueInfo source, SqsQueueInfo dlq, CancellationToken ct)
    {
        var seen = new Dictionary<string, Message>(StringComparer.Ordinal);
        try
        {
            while (true)
            {
                List<Message> page = await ReceiveAsync(sqs, dlq.Url, ListVisibilitySeconds, ct).ConfigureAwait(false);
                int fresh = 0;
                foreach (Message message in page.Where(m => seen.TryAdd(m.MessageId, m)))
                {
                    fresh++;
                    Console.WriteLine($"{message.MessageId}  receives {ReceiveCount(message)}  {await DescribeAsync(store, s3, message.Body, ct).ConfigureAwait(false)}");
                }

                if (fresh == 0)
                {
                    break;
                }
            }
        }
        finally
        {
            // Listing must not hide the dead letters from a redrive that follows it.
            await ShowAgainAsync(sqs, dlq.Url, seen.Values).ConfigureAwait(false);
        }

        string maxReceives = source.RedrivePolicy is { } p ? $" after {p.MaxReceiveCount} receives" : string.Empty;
        Console.WriteLine($"bgpipe dlq: {seen.Count} dead letter(s) on {dlq.Name} (from {source.Name}{maxReceives})");
        return ExitCodes.Ok;
    }

    /// <summary>One dead letter's job and why it failed: the permanent-failure record, or the decoder's error.</summary>
    private static async Task<string> DescribeAsync(IIdempotencyStore store, IAmazonS3 s3, string? body, CancellationToken ct)
    {
        if (!AutoJobDecoder.Instance.TryDecode(Encoding.UTF8.GetBytes(body ?? string.Empty), out Job? job, out string? error))
        {
            return $"body {Summary(body)}  reason: not a job: {error}";
        }

        string what = $"job {job!.JobId ?? job.Key} ({job.Source})";
        if (store is not IJobRecordLookup lookup)
        {
            return $"{what}  reason: unknown (this idempotency store cannot look records up by job)";
        }

        IReadOnlyList<IdempotencyRecord> records = await lookup.FindByJobKeyAsync(job.Key, ct).ConfigureAwait(false);
        IdempotencyRecord? failed = records.FirstOrDefault(r => r.Status == IdempotencyStatus.FailedPermanent);
        if (failed is not null)
        {
            string when = failed.UpdatedAt is { } at ? $" (at {at.ToString("u", CultureInfo.InvariantCulture)})" : string.Empty;
            return $"{what}  reason: {failed.FailureReason ?? "failed permanently, no reason kept"}{when}";
        }

        return records.FirstOrDefault(r => r.Status == IdempotencyStatus.Completed) is { } done
            ? $"{what}  reason: none; the job has since completed ({done.ResultLocation})"
            : $"{what}  reason: no failure record (transient failures until maxReceiveCount){await SourceNowAsync(s3, job.Source, ct).ConfigureAwait(false)}";
    }

    /// <summary>
    /// A transient failure leaves no record, so the S3 source is looked at now: a source that does not exist is the
    /// usual cause (the function retries a missing object, since it may yet be written).
    /// </summary>
    private static async Task<string> SourceNowAsync(IAmazonS3 s3, string source, CancellationToken ct)
    {
        if (!source.StartsWith("s3://", StringComparison.Ordinal) || source.IndexOf('/', 5) is var slash && slash < 0)
        {
            return string.Empty;
        }

        string bucket = source[5..slash], key = source[(slash + 1)..];
        try
        {
            GetObjectMetadataResponse head = await s3.GetObjectMetadataAsync(bucket, key, ct).ConfigureAwait(false);
            return string.Create(CultureInfo.InvariantCulture, $"; the source exists now ({head.ContentLength:N0} bytes)");
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return "; the source does not exist now";
        }
        catch (AmazonS3Exception ex)
        {
            return $"; the source could not be read now ({ex.ErrorCode ?? ex.StatusCode.ToString()})";
        }
    }

    private static async Task<int> RedriveAsync(IAmazonSQS sqs, IIdempotencyStore store, SqsQueueInfo source, SqsQueueInfo dlq, int? max, CancellationToken ct)
    {
        int moved = 0, cleared = 0;
        var visibility = (int)Math.Clamp(dlq.VisibilityTimeout.TotalSeconds, 30, 43_200);

        // A message this run sent back may fail again and return to the DLQ (with the id it was sent with) while the
        // run goes on; moving it again would loop. Those are left on the DLQ, visible, and the run ends when a receive
        // brings nothing else.
        var sentIds = new HashSet<string>(StringComparer.Ordinal);
        var returned = new Dictionary<string, Message>(StringComparer.Ordinal);
        try
        {
            while (max is null || moved < max)
            {
                List<Message> page = await ReceiveAsync(sqs, dlq.Url, visibility, ct).ConfigureAwait(false);
                List<Message> fresh = [.. page.Where(m => !sentIds.Contains(m.MessageId))];
                foreach (Message back in page.Where(m => sentIds.Contains(m.MessageId)))
                {
                    returned[back.MessageId] = back;
                }

                if (fresh.Count == 0)
                {
                    break;
                }

                foreach (Message message in fresh.Take(max is null ? int.MaxValue : max.Value - moved))
                {
                    // Clear first: a job sent back while its FAILED_PERMANENT record stands would fail fast again.
                    int clearedHere = await ClearFailuresAsync(store, message.Body, ct).ConfigureAwait(false);
                    cleared += clearedHere;

                    // Send, then delete: a crash between the two leaves a copy on both queues (the idempotency table
                    // makes the second run a skip), never on neither.
                    SendMessageResponse sent = await sqs.SendMessageAsync(Resend(message, source), ct).ConfigureAwait(false);
                    sentIds.Add(sent.MessageId);
                    await sqs.DeleteMessageAsync(dlq.Url, message.ReceiptHandle, ct).ConfigureAwait(false);
                    moved++;
                    string clearedText = clearedHere == 0 ? string.Empty : $", cleared {clearedHere} failure record(s)";
                    Console.WriteLine($"{message.MessageId} -> {source.Name} {sent.MessageId}{clearedText}");
                }
            }
        }
        finally
        {
            await ShowAgainAsync(sqs, dlq.Url, returned.Values).ConfigureAwait(false);
        }

        string failedAgain = returned.Count == 0 ? string.Empty : $"; {returned.Count} of them already failed again and are back on the DLQ";
        Console.WriteLine($"bgpipe dlq: moved {moved} message(s) from {dlq.Name} to {source.Name}; cleared {cleared} failure record(s){failedAgain}");
        return ExitCodes.Ok;
    }

    /// <summary>Makes received messages visible again at once (ChangeMessageVisibility 0), so reading hides nothing.</summary>
    private static async Task ShowAgainAsync(IAmazonSQS sqs, string url, IEnumerable<Message> messages)
    {
        foreach (Message[] chunk in messages.Chunk(10))
        {
            await sqs.ChangeMessageVisibilityBatchAsync(new ChangeMessageVisibilityBatchRequest
            {
                QueueUrl = url,
                Entries = [.. chunk.Select((m, i) => new ChangeMessageVisibilityBatchRequestEntry(i.ToString(CultureInfo.InvariantCulture), m.ReceiptHandle) { VisibilityTimeout = 0 })],
            }, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static async Task<int> ClearFailuresAsync(IIdempotencyStore store, string? body, CancellationToken ct)
    {
        if (store is not IJobRecordLookup lookup || !AutoJobDecoder.Instance.TryDecode(Encoding.UTF8.GetBytes(body ?? string.Empty), out Job? job, out _))
        {
            return 0;
        }

        int cleared = 0;
        foreach (IdempotencyRecord record in await lookup.FindByJobKeyAsync(job!.Key, ct).ConfigureAwait(false))
        {
            if (record.Status == IdempotencyStatus.FailedPermanent && await store.ClearFailureAsync(record.Key, ct).ConfigureAwait(false))
            {
                cleared++;
            }
        }

        return cleared;
    }

    private static SendMessageRequest Resend(Message message, SqsQueueInfo source)
    {
        var request = new SendMessageRequest(source.Url, message.Body);
        if (message.MessageAttributes is { Count: > 0 } attributes)
        {
            request.MessageAttributes = attributes;
        }

        if (source.IsFifo)
        {
            Dictionary<string, string> system = message.Attributes ?? [];
            request.MessageGroupId = system.GetValueOrDefault("MessageGroupId") ?? message.MessageId;
            request.MessageDeduplicationId = message.MessageId;
        }

        return request;
    }

    private static async Task<List<Message>> ReceiveAsync(IAmazonSQS sqs, string url, int visibilitySeconds, CancellationToken ct)
    {
        ReceiveMessageResponse response = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest
        {
            QueueUrl = url,
            MaxNumberOfMessages = 10,
            WaitTimeSeconds = 1,
            VisibilityTimeout = visibilitySeconds,
            MessageSystemAttributeNames = ["All"],
            MessageAttributeNames = ["All"],
        }, ct).ConfigureAwait(false);
        return response.Messages ?? [];
    }

    private static string ReceiveCount(Message message) =>
        message.Attributes?.GetValueOrDefault("ApproximateReceiveCount") ?? "?";

    private static string Summary(string? body)
    {
        string flat = (body ?? string.Empty).ReplaceLineEndings(" ");
        return flat.Length <= 60 ? $"'{flat}'" : $"'{flat[..57]}...'";
    }

    private static int Fail(string verb, string message, int code)
    {
        Console.Error.WriteLine($"bgpipe dlq {verb}: {message}");
        return code;
    }
}

/// <summary>The queue named has no DLQ and is no queue's DLQ; the message names it.</summary>
internal sealed class DeadLetterQueueNotFoundException : Exception
{
    public DeadLetterQueueNotFoundException(string message) : base(message) { }

    public DeadLetterQueueNotFoundException(string message, Exception inner) : base(message, inner) { }

    public DeadLetterQueueNotFoundException() { }
}
