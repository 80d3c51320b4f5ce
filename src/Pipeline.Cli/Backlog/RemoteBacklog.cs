using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Amazon.S3.Model;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging;
using Pipeline.Aws;
using Pipeline.Aws.Provisioning;
using Pipeline.Aws.S3;
using Pipeline.Aws.Sqs;
using Pipeline.BackgroundRemoval;
using Pipeline.BackgroundRemoval.Function;
using Pipeline.BackgroundRemoval.Imaging;
using Pipeline.BackgroundRemoval.Model;
using Pipeline.Cli.Hosting;
using Pipeline.Cli.Telemetry;
using Pipeline.Core.Batching;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Sources;
using Pipeline.Core.Storage;

namespace Pipeline.Cli.Backlog;

/// <summary>
/// <c>bgpipe backlog &lt;in&gt; --out &lt;out&gt; --endpoint-url URL</c> (or AWS credentials): the same backlog as the embedded
/// run, through SQS (jobs queue and DLQ), DynamoDB (idempotency) and S3. Input is a folder or <c>s3://bucket/prefix</c>;
/// output is <c>s3://bucket/prefix</c> or a folder. Missing resources are provisioned first (safe on rerun). Jobs are
/// sent with SendMessageBatch, each checked against the queue's MaximumMessageSize. The summary, JSON, dead-letter
/// report and exit codes are those of the embedded run.
/// </summary>
internal static class RemoteBacklog
{
    /// <summary>The function timeout the queue's visibility timeout is derived from (6 x) when provisioning.</summary>
    private const int FunctionTimeoutSeconds = 60;

    internal sealed record Locations(S3Uri? InS3, string? InFolder, S3Uri? OutS3, string? OutFolder)
    {
        public IEnumerable<string> Buckets => new[] { InS3?.Bucket, OutS3?.Bucket }.OfType<string>().Distinct(StringComparer.Ordinal);

        public string Out => OutS3?.ToString() ?? OutFolder!;

        public string In => InS3?.ToString() ?? InFolder!;
    }

    /// <summary>Parses <c>in</c> and <c>--out</c>: an <c>s3://bucket/prefix</c> or a local folder each. Returns an error line or null.</summary>
    public static string? TryParse(string input, string output, out Locations locations)
    {
        locations = new Locations(null, null, null, null);
        S3Uri? inS3 = null, outS3 = null;
        string? inFolder = null, outFolder = null;
        if (S3Uri.IsS3(input))
        {
            if (ParsePrefix(input, "input") is { } error)
            {
                return error;
            }

            inS3 = Prefix(input);
        }
        else if (!Directory.Exists(input))
        {
            return File.Exists(input) ? $"{input} is a file; use 'bgpipe remove' for one image" : $"{input}: no such folder";
        }
        else
        {
            inFolder = Path.GetFullPath(input);
        }

        if (S3Uri.IsS3(output))
        {
            if (ParsePrefix(output, "--out") is { } error)
            {
                return error;
            }

            outS3 = Prefix(output);
        }
        else
        {
            outFolder = Path.GetFullPath(output);
        }

        locations = new Locations(inS3, inFolder, outS3, outFolder);
        return null;
    }

    private static string? ParsePrefix(string text, string role)
    {
        // A bare bucket (s3://bucket or s3://bucket/) is a valid prefix: the whole bucket.
        string withKey = text.TrimEnd('/').Count(c => c == '/') <= 2 ? text.TrimEnd('/') + "/x" : text;
        return S3Uri.TryParse(withKey, out _, out string? error) ? null : $"{role}: {error}";
    }

    private static S3Uri Prefix(string text)
    {
        string trimmed = text.TrimEnd('/');
        int slash = trimmed.IndexOf('/', 5);
        string bucket = slash < 0 ? trimmed[5..] : trimmed[5..slash];
        string prefix = slash < 0 ? string.Empty : trimmed[(slash + 1)..] + "/";
        return new S3Uri(bucket, prefix);
    }

    public static async Task<int> RunAsync(BacklogCommand.Settings s, RemovalRequest request, Locations where, MatteModel matte, CancellationToken ct)
    {
        AwsEndpoint endpoint = AwsEndpoint.FromOption(s.EndpointUrl);
        TimeProvider time = TimeProvider.System;
        var clock = Stopwatch.StartNew();
        using ILoggerFactory loggers = ConsoleLineLoggerProvider.CreateFactory(LogLevel.Warning);

        // 1. Resources: the jobs queue with its DLQ (redrive after 5 receives), the idempotency table, the buckets.
        ResourceList resources;
        using (ProvisioningClients clients = ProvisioningClients.For(endpoint))
        {
            int timeout = await ProvisionedTimeoutAsync(clients.Sqs, s.Prefix + ResourceList.DefaultJobsQueue, ct).ConfigureAwait(false) ?? FunctionTimeoutSeconds;
            resources = ResourceList.For(s.Prefix, timeout, where.Buckets);
            ProvisionReport provisioned = await new Provisioner(clients, time).ApplyAsync(resources, dryRun: false, ct).ConfigureAwait(false);
            foreach (string warning in provisioned.Warnings)
            {
                Console.Error.WriteLine($"bgpipe backlog: {warning}");
            }
        }

        await using RemoteStack stack = RemoteStack.Connect(endpoint);
        using FileCallLog? callLog = s.CallLog is null ? null : new FileCallLog(s.CallLog);
        FileRoots? roots = where.InFolder is not null || where.OutFolder is not null
            ? new FileRoots(where.InFolder ?? where.OutFolder!, where.OutFolder ?? where.InFolder!)
            : null;
        IJobFunction function = stack.CreateFunction(new BackgroundRemover(matte), [.. where.Buckets], null, roots, callLog, loggers);
        var invoker = InvokerOptions.Default;
        IdempotencyGuard guard = stack.CreateGuard(resources.IdempotencyTable.Name, invoker, time, loggers);

        // 2. Jobs: one per image under the input; permanent failures of earlier runs stay dead unless retried.
        var previouslyDead = new List<DeadLetterEntry>();
        var messages = new List<SqsOutgoingMessage>();
        var ours = new HashSet<string>(StringComparer.Ordinal);
        long ignored = 0;
        await foreach (Job job in JobsAsync(where, request, stack, c => ignored += c, ct).ConfigureAwait(false))
        {
            if (await PreviousFailureAsync(guard.Store, function, job, ct).ConfigureAwait(false) is { } failure)
            {
                if (s.RetryDeadLetters)
                {
                    await guard.Store.ClearFailureAsync(failure.Key, ct).ConfigureAwait(false);
                }
                else
                {
                    previouslyDead.Add(new DeadLetterEntry(job.Key, job.Source, failure.FailureReason ?? "failed permanently", 5));
                    continue;
                }
            }

            ours.Add(job.Key);
            messages.Add(new SqsOutgoingMessage(Encoding.UTF8.GetString(Body(job))) { JobId = job.Key });
        }

        SqsJobSender sender = await SqsJobSender.CreateAsync(stack.Sqs, resources.JobsQueue.Name, null, time, loggers.CreateLogger<SqsJobSender>(), ct).ConfigureAwait(false);
        await sender.SendAsync(messages, ct).ConfigureAwait(false);

        // 3. Process through SQS: the same mapping as the embedded run, on the real queue.
        await using SqsRecordSource sqsSource = await stack.CreateSqsSourceAsync(resources.JobsQueue.Name, 1, time, loggers, ct).ConfigureAwait(false);
        var reasons = new FailureReasons(sqsSource);
        var options = new MappingOptions
        {
            Batching = BatchingOptions.ForSqs(batchSize: 1),
            Concurrency = s.Concurrency,
            Invoker = invoker,
            LaneCapacity = 2,
            PollBufferCapacity = Math.Max(4, s.Concurrency * 2),
            MaxRecordsPerPoll = Math.Min(10, Math.Max(1, s.Concurrency)),
        };
        var mapping = new EventSourceMapping(options, reasons, function, guard, time, decoder: null, loggers);
        Console.WriteLine($"bgpipe backlog: {messages.Count} images from {where.In} -> {where.Out} through {sqsSource.Queue.Url} ({s.Concurrency} lanes, model {Path.GetFileName(matte.Path)})");

        string dlqUrl = await SqsQueues.ResolveUrlAsync(stack.Sqs, resources.JobsDeadLetterQueue.Name, ct).ConfigureAwait(false);
        await BacklogCommand.RunUntilDrainedAsync(mapping, messages.Count, () => reasons.DeadLettered,
            run => WaitUntilDrainedAsync(stack, sqsSource.Queue.Url, run, ct), ct).ConfigureAwait(false);
        clock.Stop();

        // 4. Report: this run's jobs found in the DLQ, with the last reason each failed for.
        List<DeadLetterEntry> dead = [.. previouslyDead, .. await DeadLettersAsync(stack, dlqUrl, ours, reasons, guard.Store, ct).ConfigureAwait(false)];
        byte[] report = BacklogCommand.DeadLetterReport(dead);
        string reportAt = await WriteReportAsync(stack, where, report, ct).ConfigureAwait(false);
        MappingStatistics stats = mapping.Statistics;
        double seconds = clock.Elapsed.TotalSeconds;
        var summary = new BacklogSummary(stats.SucceededEventCount, stats.SkippedEventCount, dead.Count, Math.Round(seconds, 3),
            Math.Round(stats.SucceededEventCount / Math.Max(seconds, 1e-9), 3), ignored, dead);
        BacklogCommand.PrintSummary(summary, reportAt, ct.IsCancellationRequested);
        if (s.Json is not null)
        {
            ImageEncoder.WriteAtomically(s.Json, JsonSerializer.SerializeToUtf8Bytes(summary, BacklogJson.Default.BacklogSummary));
        }

        if (ct.IsCancellationRequested)
        {
            return ExitCodes.Interrupted;
        }

        return dead.Count > 0 ? ExitCodes.DeadLettered : ExitCodes.Ok;
    }

    /// <summary>
    /// The function timeout an existing jobs queue was provisioned for (its visibility timeout / 6), so provisioning
    /// here keeps what <c>bgpipe provision --function-timeout</c> set instead of "repairing" it. Null when the queue is
    /// missing or was not provisioned by us.
    /// </summary>
    private static async Task<int?> ProvisionedTimeoutAsync(Amazon.SQS.IAmazonSQS sqs, string queue, CancellationToken ct)
    {
        try
        {
            SqsQueueInfo info = await SqsQueues.DescribeAsync(sqs, queue, ct).ConfigureAwait(false);
            int seconds = (int)info.VisibilityTimeout.TotalSeconds;
            return seconds > 0 && seconds % ResourceList.VisibilityTimeoutMultiplier == 0 ? seconds / ResourceList.VisibilityTimeoutMultiplier : null;
        }
        catch (SqsQueueNotFoundException)
        {
            return null;
        }
    }

    private static async IAsyncEnumerable<Job> JobsAsync(Locations where, RemovalRequest request, RemoteStack stack, Action<long> ignored,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        string output = request.Output == OutputKind.Mask ? "mask" : "cutout";
        IAsyncEnumerable<string> relatives = where.InS3 is { } inS3 ? ListS3Async(stack, inS3, ct) : BacklogCommand.EnumerateFiles(where.InFolder!, where.OutFolder ?? where.InFolder!)
            .Select(p => Path.GetRelativePath(where.InFolder!, p).Replace('\\', '/')).ToAsyncEnumerable();
        await foreach (string relative in relatives.WithCancellation(ct).ConfigureAwait(false))
        {
            if (!BacklogCommand.IsImage(relative))
            {
                ignored(1);
                continue;
            }

            string source = where.InS3 is { } s3In ? $"s3://{s3In.Bucket}/{s3In.Key}{relative}" : relative;
            string png = Path.ChangeExtension(relative, ".png");
            string? destination = where.OutS3 is { } s3Out ? $"s3://{s3Out.Bucket}/{s3Out.Key}{png}" : (where.InS3 is null ? null : png);
            if (JsonJobDecoder.TryCreate(null, source, destination, output, request.Background, out Job? job, out string? error))
            {
                yield return job!;
            }
            else
            {
                Console.Error.WriteLine($"bgpipe backlog: skipping {source}: {error}");
            }
        }
    }

    private static async IAsyncEnumerable<string> ListS3Async(RemoteStack stack, S3Uri prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var store = new S3ObjectStore(stack.S3, new S3ObjectStoreOptions { AllowedBuckets = [prefix.Bucket] });
        await foreach (ObjectEntry entry in store.ListAsync(prefix.Bucket, prefix.Key, ct).ConfigureAwait(false))
        {
            if (!entry.Key.EndsWith('/'))
            {
                yield return entry.Key[prefix.Key.Length..];
            }
        }
    }

    private static byte[] Body(Job job) => JobBodies.Encode(job.Source, job.Destination, job.Output, job.Background);

    private static async Task<IdempotencyRecord?> PreviousFailureAsync(IIdempotencyStore store, IJobFunction function, Job job, CancellationToken ct)
    {
        string? identity;
        try
        {
            identity = await function.GetSourceIdentityAsync(job, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is PermanentJobException or TransientJobException or IOException)
        {
            return null; // the run itself reports it
        }

        string key = identity is null ? job.Key : string.Concat(job.Key, "#", identity);
        IdempotencyRecord? record = await store.GetAsync(key, ct).ConfigureAwait(false);
        return record?.Status == IdempotencyStatus.FailedPermanent ? record : null;
    }

    /// <summary>
    /// Done when the jobs queue holds nothing (visible, in flight or delayed) on three readings in a row and the mapping
    /// has nothing in its lanes. Counts are approximate on AWS, hence the repeated readings.
    /// </summary>
    private static async Task WaitUntilDrainedAsync(RemoteStack stack, string queueUrl, Task run, CancellationToken ct)
    {
        int quiet = 0;
        while (quiet < 3)
        {
            if (run.IsCompleted)
            {
                return; // the mapping failed or stopped; RunAsync's caller sees why
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), ct).ConfigureAwait(false);
            GetQueueAttributesResponse attributes = await stack.Sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest
            {
                QueueUrl = queueUrl,
                AttributeNames = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"],
            }, ct).ConfigureAwait(false);
            long waiting = attributes.Attributes.Values.Sum(v => long.TryParse(v, out long n) ? n : 0);
            quiet = waiting == 0 ? quiet + 1 : 0;
        }
    }

    private static async Task<List<DeadLetterEntry>> DeadLettersAsync(RemoteStack stack, string dlqUrl, HashSet<string> ours, FailureReasons reasons, IIdempotencyStore store, CancellationToken ct)
    {
        // Peek: receive with a short visibility and never delete, until a pass brings nothing new.
        var seen = new Dictionary<string, DeadLetterEntry>(StringComparer.Ordinal);
        int emptyPasses = 0;
        while (emptyPasses < 2 && seen.Count < 100_000)
        {
            ReceiveMessageResponse received = await stack.Sqs.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = dlqUrl,
                MaxNumberOfMessages = 10,
                VisibilityTimeout = 5,
                WaitTimeSeconds = 0,
                MessageSystemAttributeNames = ["ApproximateReceiveCount"],
            }, ct).ConfigureAwait(false);
            int added = 0;
            foreach (Message m in received.Messages ?? [])
            {
                if (seen.ContainsKey(m.MessageId) || !JsonJobDecoder.Instance.TryDecode(Encoding.UTF8.GetBytes(m.Body), out Job? job, out _) || !ours.Contains(job!.Key))
                {
                    continue;
                }

                string reason = reasons.For(m.MessageId, job.Key) ?? await StoredReasonAsync(store, job.Key, ct).ConfigureAwait(false)
                    ?? "moved to the DLQ after 5 receives (no reason recorded by this run)";
                seen[m.MessageId] = new DeadLetterEntry(job.Key, job.Source, reason, 5);
                added++;
            }

            emptyPasses = added == 0 ? emptyPasses + 1 : 0;
        }

        return [.. seen.Values.OrderBy(e => e.Source, StringComparer.Ordinal)];
    }

    private static async Task<string?> StoredReasonAsync(IIdempotencyStore store, string jobKey, CancellationToken ct)
    {
        IdempotencyRecord? record = await store.GetAsync(jobKey, ct).ConfigureAwait(false);
        return record?.FailureReason;
    }

    private static async Task<string> WriteReportAsync(RemoteStack stack, Locations where, byte[] report, CancellationToken ct)
    {
        if (where.OutFolder is { } folder)
        {
            Directory.CreateDirectory(folder);
            string path = Path.Combine(folder, "dead-letters.jsonl");
            ImageEncoder.WriteAtomically(path, report);
            return path;
        }

        S3Uri at = new(where.OutS3!.Bucket, where.OutS3.Key + "dead-letters.jsonl");
        using var body = new MemoryStream(report);
        await stack.S3.PutObjectAsync(new PutObjectRequest { BucketName = at.Bucket, Key = at.Key, InputStream = body, ContentType = "application/x-ndjson" }, ct).ConfigureAwait(false);
        return at.ToString();
    }

    /// <summary>
    /// Keeps the last failure reason of each message and job, on its way to the real acknowledger, so the dead-letter
    /// report can say why (SQS's DLQ keeps the message, not the reason).
    /// </summary>
    private sealed class FailureReasons(IRecordSource inner) : IRecordSource, IBatchAcknowledger
    {
        private readonly ConcurrentDictionary<string, string> _byMessage = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, string> _byBody = new(StringComparer.Ordinal);
        private long _deadLettered;

        public string Name => inner.Name;

        public IBatchAcknowledger Acknowledger => this;

        public TimeSpan VisibilityTimeout => inner.Acknowledger.VisibilityTimeout;

        /// <summary>Messages that failed on their fifth receive: the queue moves them to the DLQ on the next receive.</summary>
        public long DeadLettered => Interlocked.Read(ref _deadLettered);

        public string? For(string messageId, string jobKey) =>
            _byMessage.TryGetValue(messageId, out string? r) ? r : _byBody.GetValueOrDefault(jobKey);

        public ValueTask<IReadOnlyList<SourceRecord>> ReceiveAsync(int maxRecords, CancellationToken cancellationToken) =>
            inner.ReceiveAsync(maxRecords, cancellationToken);

        public ValueTask AcknowledgeAsync(IReadOnlyList<ItemResult> results, CancellationToken cancellationToken)
        {
            foreach (ItemResult r in results)
            {
                if (r.IsFailure && r.Outcome != ItemOutcome.Released && r.Reason is not null)
                {
                    _byMessage[r.Record.Id] = r.Reason;
                    if (JsonJobDecoder.Instance.TryDecode(r.Record.Body.Span, out Job? job, out _))
                    {
                        _byBody[job!.Key] = r.Reason;
                    }

                    if (r.Record.ReceiveCount >= 5 && r.Outcome is ItemOutcome.PermanentFailure or ItemOutcome.Retry)
                    {
                        Interlocked.Increment(ref _deadLettered);
                    }
                }
            }

            return inner.Acknowledger.AcknowledgeAsync(results, cancellationToken);
        }

        public ValueTask ExtendAsync(IReadOnlyList<SourceRecord> records, TimeSpan visibility, CancellationToken cancellationToken) =>
            inner.Acknowledger.ExtendAsync(records, visibility, cancellationToken);

        public ValueTask ReleaseAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken) =>
            inner.Acknowledger.ReleaseAsync(records, cancellationToken);
    }
}
