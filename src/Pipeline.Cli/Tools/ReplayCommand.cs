using System.CommandLine;
using System.Globalization;
using System.Text;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Pipeline.Aws;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Aws.Sqs;
using Pipeline.Lambda.Events;

namespace Pipeline.Cli.Tools;

/// <summary>
/// <c>bgpipe replay &lt;event.json&gt;... --endpoint-url URL (--queue NAME | --stream NAME) [--rate N/s] [--repeat N]</c>:
/// sends the records of SQS or Kinesis Lambda event files to a queue (SendMessageBatch) or a stream (PutRecords), so
/// the events in <c>events/</c> can be run through a real mapping. Either kind goes to either target: SQS bodies become
/// stream records (partition key: the MessageGroupId, else the job's key, else the message id), and Kinesis data
/// becomes message bodies (it must be UTF-8 text; FIFO group = the partition key).
/// </summary>
internal static class ReplayCommand
{
    private const int SqsBatchLimit = 10;
    private const int KinesisBatchLimit = 500;
    private const int RetryAttempts = 4;

    private sealed record Settings(string[] Files, string? EndpointUrl, string? Queue, string? Stream, string? Rate, int Repeat, string? KinesisEndpointUrl);

    public static Command Create()
    {
        var files = new Argument<string[]>("event") { Description = "SQS or Kinesis Lambda event files (e.g. events/*.json).", Arity = ArgumentArity.OneOrMore };
        var endpoint = new Option<string?>("--endpoint-url") { Description = "An AWS-compatible endpoint (LocalStack, moto_server); without it, AWS through the default credentials chain." };
        var queue = new Option<string?>("--queue") { Description = "Send to this SQS queue (name, URL or ARN)." };
        var stream = new Option<string?>("--stream") { Description = "Put on this Kinesis stream (name)." };
        var rate = new Option<string?>("--rate") { Description = "At most this many records per second, e.g. 5 or 5/s (default: as fast as the service takes them)." };
        var repeat = new Option<int>("--repeat") { Description = "Send the whole set this many times (1-10000).", DefaultValueFactory = _ => 1 };
        var kinesisEndpoint = new Option<string?>("--kinesis-endpoint-url") { Description = "Kinesis at another endpoint than --endpoint-url (e.g. kinesalite beside moto_server)." };
        var command = new Command("replay", "Send the records of SQS/Kinesis Lambda event files to a queue or a stream.")
        {
            files, endpoint, queue, stream, rate, repeat, kinesisEndpoint,
        };
        command.SetAction((parse, ct) => RunAsync(
            new Settings(parse.GetValue(files) ?? [], parse.GetValue(endpoint), parse.GetValue(queue), parse.GetValue(stream), parse.GetValue(rate), parse.GetValue(repeat), parse.GetValue(kinesisEndpoint)),
            TimeProvider.System,
            ct));
        return command;
    }

    private static async Task<int> RunAsync(Settings s, TimeProvider time, CancellationToken ct)
    {
        if (Validate(s, out double? rate) is { } usage)
        {
            return Fail(usage, ExitCodes.Usage);
        }

        // Every file is read and checked before anything is sent: a bad file sends nothing.
        var records = new List<ReplayRecord>();
        try
        {
            foreach (string file in s.Files)
            {
                records.AddRange(EventFile.Load(file));
            }
        }
        catch (EventFileException ex)
        {
            return Fail(ex.Message, ExitCodes.Usage);
        }

        if (s.Queue is not null && records.FirstOrDefault(r => !IsUtf8(r.Data)) is { } binary)
        {
            return Fail($"{binary.File}: record {binary.RecordId} holds data that is not UTF-8 text, which an SQS body cannot carry; replay it to a stream", ExitCodes.Usage);
        }

        if (!Commands.CommonOptions.TryParseEndpoints(s.EndpointUrl, s.KinesisEndpointUrl, out AwsEndpoint endpoint, out AwsEndpoint kinesisEndpoint, out string? endpointError))
        {
            return Fail(endpointError!, ExitCodes.Usage);
        }

        var gate = new RateGate(rate, time);
        int files = s.Files.Distinct(StringComparer.Ordinal).Count();
        try
        {
            Tally tally = s.Queue is not null
                ? await ToQueueAsync(endpoint, s.Queue, records, s.Repeat, gate, time, ct).ConfigureAwait(false)
                : await ToStreamAsync(kinesisEndpoint, s.Stream!, records, s.Repeat, gate, time, ct).ConfigureAwait(false);
            string times = s.Repeat == 1 ? string.Empty : $", {s.Repeat} times";
            string failed = tally.Failed == 0 ? string.Empty : $"; {tally.Failed} failed (see above)";
            Console.WriteLine($"bgpipe replay: {tally.Sent} record(s) from {files} file(s) sent to {tally.Target}{times}{failed}");
            return tally.Failed == 0 ? ExitCodes.Ok : ExitCodes.Infrastructure;
        }
        catch (TargetNotFoundException ex)
        {
            return Fail(ex.Message, ExitCodes.Usage);
        }
        catch (KinesisServiceException ex)
        {
            return Fail($"{kinesisEndpoint}: {ex.Message}", ExitCodes.Infrastructure);
        }
        catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException)
        {
            return Fail($"{endpoint}: {ex.Message}", ExitCodes.Infrastructure);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return Fail("interrupted; the records printed above were sent", ExitCodes.Interrupted);
        }
    }

    private sealed record Tally(string Target, int Sent, int Failed);

    private static async Task<Tally> ToQueueAsync(AwsEndpoint endpoint, string queueName, List<ReplayRecord> records, int repeat, RateGate gate, TimeProvider time, CancellationToken ct)
    {
        using IAmazonSQS sqs = endpoint.CreateSqs();
        SqsQueueInfo queue;
        try
        {
            queue = await SqsQueues.DescribeAsync(sqs, queueName, ct).ConfigureAwait(false);
        }
        catch (SqsQueueNotFoundException ex)
        {
            throw new TargetNotFoundException($"{ex.Message} at {endpoint} (create it with 'bgpipe provision')", ex);
        }

        int sent = 0, failed = 0;
        for (int round = 1; round <= repeat; round++)
        {
            foreach (ReplayRecord[] chunk in records.Chunk(gate.BatchSize(SqsBatchLimit)))
            {
                await gate.WaitAsync(chunk.Length, ct).ConfigureAwait(false);
                var pending = chunk.Select((r, i) => (Id: i.ToString(CultureInfo.InvariantCulture), Record: r)).ToDictionary(p => p.Id, p => p.Record);
                for (int attempt = 1; pending.Count > 0; attempt++)
                {
                    SendMessageBatchResponse response = await sqs.SendMessageBatchAsync(new SendMessageBatchRequest
                    {
                        QueueUrl = queue.Url,
                        Entries = [.. pending.Select(p => Entry(p.Key, p.Value, queue.IsFifo))],
                    }, ct).ConfigureAwait(false);
                    foreach (SendMessageBatchResultEntry ok in response.Successful ?? [])
                    {
                        ReplayRecord r = pending[ok.Id];
                        pending.Remove(ok.Id);
                        sent++;
                        Console.WriteLine($"{Round(round, repeat)}{r.File} {r.RecordId} -> message {ok.MessageId}");
                    }

                    foreach (BatchResultErrorEntry error in response.Failed ?? [])
                    {
                        // A sender fault (bad attribute, body too large) fails again the same way; the service's own
                        // faults are retried.
                        if (error.SenderFault == true || attempt >= RetryAttempts)
                        {
                            ReplayRecord r = pending[error.Id];
                            pending.Remove(error.Id);
                            failed++;
                            await Console.Error.WriteLineAsync($"bgpipe replay: {r.File} {r.RecordId} was not sent: {error.Code}: {error.Message}").ConfigureAwait(false);
                        }
                    }

                    if (pending.Count > 0)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), time, ct).ConfigureAwait(false);
                    }
                }
            }
        }

        return new Tally(queue.Url, sent, failed);
    }

    private static SendMessageBatchRequestEntry Entry(string id, ReplayRecord r, bool fifo)
    {
        var entry = new SendMessageBatchRequestEntry(id, Encoding.UTF8.GetString(r.Data));
        if (r.MessageAttributes.Count > 0)
        {
            entry.MessageAttributes = r.MessageAttributes.ToDictionary(a => a.Key, a => Attribute(a.Value));
        }

        if (fifo)
        {
            // FIFO needs a group; a Kinesis record's partition key plays that part (order per key either way).
            entry.MessageGroupId = r.StreamPartitionKey();
            entry.MessageDeduplicationId = r.MessageDeduplicationId ?? r.RecordId;
        }

        return entry;
    }

    private static MessageAttributeValue Attribute(SqsMessageAttribute a) => new()
    {
        DataType = a.DataType ?? (a.BinaryValue is null ? "String" : "Binary"),
        StringValue = a.StringValue,
        BinaryValue = a.BinaryValue is null ? null : new MemoryStream(Convert.FromBase64String(a.BinaryValue)),
    };

    private static async Task<Tally> ToStreamAsync(AwsEndpoint endpoint, string stream, List<ReplayRecord> records, int repeat, RateGate gate, TimeProvider time, CancellationToken ct)
    {
        using KinesisClient kinesis = endpoint.CreateKinesis();
        try
        {
            await kinesis.DescribeStreamSummaryAsync(new DescribeStreamSummaryRequest { StreamName = stream }, ct).ConfigureAwait(false);
        }
        catch (KinesisResourceNotFoundException ex)
        {
            throw new TargetNotFoundException($"Kinesis stream '{stream}' does not exist at {endpoint} (create it with 'bgpipe provision --shards N')", ex);
        }

        int sent = 0, failed = 0;
        for (int round = 1; round <= repeat; round++)
        {
            foreach (ReplayRecord[] chunk in records.Chunk(gate.BatchSize(KinesisBatchLimit)))
            {
                await gate.WaitAsync(chunk.Length, ct).ConfigureAwait(false);
                List<ReplayRecord> pending = [.. chunk];
                for (int attempt = 1; pending.Count > 0; attempt++)
                {
                    PutRecordsResponse response = await kinesis.PutRecordsAsync(new PutRecordsRequest
                    {
                        StreamName = stream,
                        Records = [.. pending.Select(r => new PutRecordsRequestEntry { PartitionKey = r.StreamPartitionKey(), Data = r.Data })],
                    }, ct).ConfigureAwait(false);

                    // Entries come back in request order; keep the failed ones (throughput exceeded) for another try,
                    // still in order, so records of one partition key keep their order.
                    var retry = new List<ReplayRecord>();
                    for (int i = 0; i < pending.Count; i++)
                    {
                        PutRecordsResultEntry result = response.Records[i];
                        ReplayRecord r = pending[i];
                        if (result.ErrorCode is null)
                        {
                            sent++;
                            Console.WriteLine($"{Round(round, repeat)}{r.File} {r.RecordId} -> {result.ShardId} {result.SequenceNumber}");
                        }
                        else if (attempt >= RetryAttempts)
                        {
                            failed++;
                            await Console.Error.WriteLineAsync($"bgpipe replay: {r.File} {r.RecordId} was not put: {result.ErrorCode}: {result.ErrorMessage}").ConfigureAwait(false);
                        }
                        else
                        {
                            retry.Add(r);
                        }
                    }

                    pending = retry;
                    if (pending.Count > 0)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), time, ct).ConfigureAwait(false);
                    }
                }
            }
        }

        return new Tally($"stream {stream}", sent, failed);
    }

    private static string Round(int round, int repeat) => repeat == 1 ? string.Empty : $"[{round}/{repeat}] ";

    private static bool IsUtf8(byte[] data)
    {
        try
        {
            _ = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(data);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    private static string? Validate(Settings s, out double? rate)
    {
        rate = null;
        if ((s.Queue is null) == (s.Stream is null))
        {
            return "give exactly one target: --queue NAME or --stream NAME";
        }

        if (s.Queue is { } q && string.IsNullOrWhiteSpace(q))
        {
            return "--queue must name a queue (got an empty value)";
        }

        if (s.Stream is { } st && string.IsNullOrWhiteSpace(st))
        {
            return "--stream must name a stream (got an empty value)";
        }

        if (s.Repeat is < 1 or > 10_000)
        {
            return $"--repeat must be between 1 and 10000 (got {s.Repeat})";
        }

        if (s.Rate is { } text)
        {
            string number = text.EndsWith("/s", StringComparison.OrdinalIgnoreCase) ? text[..^2] : text;
            if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double r) || !double.IsFinite(r) || r <= 0 || r > 100_000)
            {
                return $"--rate must be records per second above 0 and at most 100000, e.g. 5 or 5/s (got '{text}')";
            }

            rate = r;
        }

        return null;
    }

    private static int Fail(string message, int code)
    {
        Console.Error.WriteLine($"bgpipe replay: {message}");
        return code;
    }
}

/// <summary>The queue or stream to send to does not exist; the message names it and the endpoint.</summary>
internal sealed class TargetNotFoundException : Exception
{
    public TargetNotFoundException(string message) : base(message) { }

    public TargetNotFoundException(string message, Exception inner) : base(message, inner) { }

    public TargetNotFoundException() { }
}
