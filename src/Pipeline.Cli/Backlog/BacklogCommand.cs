using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Pipeline.BackgroundRemoval;
using Pipeline.BackgroundRemoval.Function;
using Pipeline.BackgroundRemoval.Imaging;
using Pipeline.BackgroundRemoval.Model;
using Pipeline.Cli.Commands;
using Pipeline.Core.Batching;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Records;
using Pipeline.Core.Sources.Embedded;

namespace Pipeline.Cli.Backlog;

/// <summary>
/// <c>bgpipe backlog &lt;in-dir&gt; --out &lt;out-dir&gt;</c>: every image under the input folder becomes a job on the
/// embedded queue, runs through pollers, lanes and invokers with the background-removal function, and ends as
/// <c>&lt;out-dir&gt;/&lt;relative path&gt;.png</c>, or in the dead-letter report after 5 receives. The idempotency store
/// lives under the output folder, so a rerun skips what is done and a crashed run resumes.
/// </summary>
internal static class BacklogCommand
{
    /// <summary>Extensions enqueued. Formats we cannot decode are enqueued too, so they are reported, not ignored.</summary>
    private static readonly HashSet<string> ImageExtensions = new(StringComparer.OrdinalIgnoreCase)
    {
        ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif",
    };

    public const string StateFolder = ".bgpipe";

    public static Command Create()
    {
        var input = new Argument<string>("in-dir") { Description = "Folder of images (searched recursively)." };
        var outDir = new Option<string>("--out") { Description = "Folder for the outputs (<relative path>.png), the dead-letter report and the run's state.", Required = true };
        Option<string> output = CommonOptions.Output();
        Option<string?> background = CommonOptions.Background();
        Option<string?> model = CommonOptions.Model();
        var concurrency = new Option<int>("--concurrency") { Description = "Lanes running images at once (1-1000).", DefaultValueFactory = _ => DefaultConcurrency };
        var json = new Option<string?>("--json") { Description = "Write the summary as JSON (done, skipped, deadLettered, elapsedSeconds, imagesPerSecond)." };
        var retry = new Option<bool>("--retry-dead-letters") { Description = "Clear the permanent failures of earlier runs and try those images again." };
        var callLog = new Option<string?>("--call-log") { Description = "Append one line per function call to this file (for crash tests)." };
        var endpoint = new Option<string?>("--endpoint-url") { Description = "Run through SQS, DynamoDB and S3 at this AWS-compatible endpoint (LocalStack, moto_server) instead of the embedded queue." };
        var aws = new Option<bool>("--aws") { Description = "Run through SQS, DynamoDB and S3 on AWS itself (default credentials and region chains)." };
        var prefix = new Option<string>("--prefix") { Description = "Prefix of the queue and table names (with --endpoint-url or --aws), as for 'bgpipe provision'.", DefaultValueFactory = _ => "bgpipe-" };
        var command = new Command("backlog", "Remove the background of every image under a folder or s3://bucket/prefix: through the embedded queue, or through SQS, DynamoDB and S3 with --endpoint-url.")
        {
            input, outDir, output, background, model, concurrency, json, retry, callLog, endpoint, aws, prefix,
        };
        command.SetAction((parse, ct) => RunAsync(new Settings(
            parse.GetValue(input)!, parse.GetValue(outDir)!, parse.GetValue(output)!, parse.GetValue(background), parse.GetValue(model),
            parse.GetValue(concurrency), parse.GetValue(json), parse.GetValue(retry), parse.GetValue(callLog),
            parse.GetValue(endpoint), parse.GetValue(aws), parse.GetValue(prefix)!), ct));
        return command;
    }

    /// <summary>Two lanes: one image decodes or encodes while the other runs the model (2 cores here).</summary>
    public static int DefaultConcurrency => Math.Clamp(Environment.ProcessorCount, 2, 8);

    internal sealed record Settings(
        string In, string Out, string Output, string? Background, string? Model, int Concurrency, string? Json, bool RetryDeadLetters, string? CallLog,
        string? EndpointUrl = null, bool Aws = false, string Prefix = "bgpipe-")
    {
        /// <summary>Through SQS, DynamoDB and S3 rather than the embedded queue.</summary>
        public bool Remote => EndpointUrl is not null || Aws || Pipeline.Core.Storage.S3Uri.IsS3(In) || Pipeline.Core.Storage.S3Uri.IsS3(Out);
    }

    private static async Task<int> RunAsync(Settings s, CancellationToken ct)
    {
        if (CommonOptions.TryParseRequest(s.Output, s.Background, out RemovalRequest request) is { } usage)
        {
            return Fail(usage, ExitCodes.Usage);
        }

        if (s.Concurrency is < 1 or > 1000)
        {
            return Fail($"--concurrency must be between 1 and 1000 (got {s.Concurrency})", ExitCodes.Usage);
        }

        if (s.Remote)
        {
            return await RunRemoteAsync(s, request, ct).ConfigureAwait(false);
        }

        if (!Directory.Exists(s.In))
        {
            return Fail(File.Exists(s.In) ? $"{s.In} is a file; use 'bgpipe remove' for one image" : $"{s.In}: no such folder", ExitCodes.Usage);
        }

        string inRoot = Path.GetFullPath(s.In);
        string outRoot = Path.GetFullPath(s.Out);
        try
        {
            Directory.CreateDirectory(outRoot);
            Directory.CreateDirectory(Path.Combine(outRoot, StateFolder));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Fail($"cannot create {outRoot}: {ex.Message}", ExitCodes.Infrastructure);
        }

        if (!CommonOptions.TryLoadModel(s.Model, out MatteModel? matte, out string? modelError))
        {
            return Fail(modelError, ExitCodes.Infrastructure);
        }

        using (matte)
        {
            try
            {
                return await RunBacklogAsync(s, request, inRoot, outRoot, matte, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
            {
                return Fail(ex.Message, ExitCodes.Infrastructure);
            }
        }
    }

    private static async Task<int> RunBacklogAsync(Settings s, RemovalRequest request, string inRoot, string outRoot, MatteModel matte, CancellationToken ct)
    {
        TimeProvider time = TimeProvider.System;
        var clock = Stopwatch.StartNew();
        await using var store = new SqliteIdempotencyStore(Path.Combine(outRoot, StateFolder, "state.db"));
        using FileCallLog? callLog = s.CallLog is null ? null : new FileCallLog(s.CallLog);
        var function = new FileBackgroundRemovalFunction(new FileRoots(inRoot, outRoot), new BackgroundRemover(matte), callLog);

        var dlq = new EmbeddedQueue(new EmbeddedQueueOptions { Name = "backlog-dlq", MaximumMessageSize = 1_048_576 }, time);
        var queue = new EmbeddedQueue(new EmbeddedQueueOptions { Name = "backlog", ReceiveWaitTime = TimeSpan.FromMilliseconds(200), MaximumMessageSize = 1_048_576 }, time, dlq);

        // Enqueue every image; permanent failures of earlier runs stay dead unless asked to retry them.
        var previouslyDead = new List<DeadLetterEntry>();
        long ignored = 0;
        int enqueued = 0;
        foreach (string path in EnumerateFiles(inRoot, outRoot))
        {
            if (!ImageExtensions.Contains(Path.GetExtension(path)))
            {
                ignored++;
                continue;
            }

            string relative = Path.GetRelativePath(inRoot, path).Replace('\\', '/');
            if (!JsonJobDecoder.TryCreate(null, relative, null, request.Output == OutputKind.Mask ? "mask" : "cutout", request.Background, out Job? job, out _))
            {
                continue;
            }

            if (await PreviousFailureAsync(store, function, job!, ct).ConfigureAwait(false) is { } failure)
            {
                if (s.RetryDeadLetters)
                {
                    await store.ClearFailureAsync(failure.Key, ct).ConfigureAwait(false);
                }
                else
                {
                    previouslyDead.Add(new DeadLetterEntry(job!.Key, relative, failure.FailureReason ?? "failed permanently", 5));
                    continue;
                }
            }

            queue.Send(JobBody(relative, request));
            enqueued++;
        }

        var options = new MappingOptions
        {
            Batching = BatchingOptions.ForSqs(batchSize: 1),
            Concurrency = s.Concurrency,
            LaneCapacity = 2,
            PollBufferCapacity = Math.Max(4, s.Concurrency * 2),
            MaxRecordsPerPoll = Math.Min(10, Math.Max(1, s.Concurrency)),
        };
        var owner = OwnerIdentity.Current.WithNewInstance().ToString();
        var guard = new IdempotencyGuard(store, owner, new LocalProcessLiveness(), time, options.Invoker.ClaimLease);
        var mapping = new EventSourceMapping(options, new EmbeddedQueueSource(queue), function, guard, time);

        Console.WriteLine($"bgpipe backlog: {enqueued} images from {inRoot} -> {outRoot} ({s.Concurrency} lanes, model {Path.GetFileName(matte.Path)})");
        await RunUntilDrainedAsync(mapping, enqueued, () => dlq.ApproximateNumberOfMessages, _ => queue.WaitUntilEmptyAsync(ct), ct).ConfigureAwait(false);
        clock.Stop();

        List<DeadLetterEntry> dead = [.. previouslyDead, .. dlq.PeekAll().Select(ToEntry)];
        WriteDeadLetters(Path.Combine(outRoot, "dead-letters.jsonl"), dead);
        MappingStatistics stats = mapping.Statistics;
        double seconds = clock.Elapsed.TotalSeconds;
        var summary = new BacklogSummary(stats.SucceededEventCount, stats.SkippedEventCount, dead.Count, Math.Round(seconds, 3),
            Math.Round(stats.SucceededEventCount / Math.Max(seconds, 1e-9), 3), ignored, dead);
        PrintSummary(summary, outRoot, ct.IsCancellationRequested);
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

    private static async Task<int> RunRemoteAsync(Settings s, RemovalRequest request, CancellationToken ct)
    {
        if (s.EndpointUrl is not null && s.Aws)
        {
            return Fail("give --endpoint-url or --aws, not both", ExitCodes.Usage);
        }

        if (s.EndpointUrl is null && !s.Aws)
        {
            return Fail("s3:// locations need --endpoint-url URL (LocalStack, moto_server) or --aws (AWS itself)", ExitCodes.Usage);
        }

        if (RemoteBacklog.TryParse(s.In, s.Out, out RemoteBacklog.Locations where) is { } usage)
        {
            return Fail(usage, ExitCodes.Usage);
        }

        if (s.EndpointUrl is not null && !Uri.TryCreate(s.EndpointUrl, UriKind.Absolute, out _))
        {
            return Fail($"--endpoint-url '{s.EndpointUrl}' is not an absolute URL", ExitCodes.Usage);
        }

        if (!CommonOptions.TryLoadModel(s.Model, out MatteModel? matte, out string? modelError))
        {
            return Fail(modelError, ExitCodes.Infrastructure);
        }

        using (matte)
        {
            try
            {
                return await RemoteBacklog.RunAsync(s, request, where, matte, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ArgumentException or Pipeline.Cli.Hosting.HostConfigurationException)
            {
                return Fail(ex.Message, ExitCodes.Usage);
            }
            catch (Exception ex) when (ex is Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or HttpRequestException
                or Pipeline.Aws.Sqs.SqsMessageTooLargeException or Pipeline.Aws.Sqs.SqsSendFailedException or Pipeline.Aws.Sqs.SqsQueueNotFoundException
                or Pipeline.Aws.Provisioning.EndpointUnreachableException or Pipeline.Aws.Provisioning.ProvisioningConflictException
                or IOException or UnauthorizedAccessException)
            {
                return Fail($"{s.EndpointUrl ?? "AWS"}: {ex.Message}", ExitCodes.Infrastructure);
            }
        }
    }

    /// <summary>
    /// Runs the mapping with a progress line until <paramref name="waitUntilDrained"/> (given the run) says every job is
    /// accounted for, or the user stops it; then stops the mapping gracefully.
    /// </summary>
    internal static async Task RunUntilDrainedAsync(EventSourceMapping mapping, int total, Func<long> deadLettered, Func<Task, Task> waitUntilDrained, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task run = mapping.RunAsync(stop.Token);
        Task drained = total == 0 ? Task.CompletedTask : waitUntilDrained(run);
        Task progress = ProgressView.RunAsync(
            total,
            () => mapping.Statistics.SucceededEventCount + mapping.Statistics.SkippedEventCount + deadLettered(),
            deadLettered,
            drained,
            ct);
        await drained.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await stop.CancelAsync().ConfigureAwait(false);
        await run.ConfigureAwait(false);
        await progress.ConfigureAwait(false);
    }

    internal static bool IsImage(string path) => ImageExtensions.Contains(Path.GetExtension(path));

    private static async Task<IdempotencyRecord?> PreviousFailureAsync(SqliteIdempotencyStore store, FileBackgroundRemovalFunction function, Job job, CancellationToken ct)
    {
        string? identity;
        try
        {
            identity = await function.GetSourceIdentityAsync(job, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is Pipeline.Core.Invocation.PermanentJobException or IOException)
        {
            return null; // the run itself reports it
        }

        string key = identity is null ? job.Key : string.Concat(job.Key, "#", identity);
        IdempotencyRecord? record = await store.GetAsync(key, ct).ConfigureAwait(false);
        return record?.Status == IdempotencyStatus.FailedPermanent ? record : null;
    }

    private static byte[] JobBody(string relative, RemovalRequest request) =>
        JobBodies.Encode(relative, null, request.Output, request.Background);

    private static DeadLetterEntry ToEntry(DeadLetter d)
    {
        string source = "?", key = d.MessageId;
        if (JsonJobDecoder.Instance.TryDecode(d.Body.Span, out Job? job, out _))
        {
            source = job!.Source;
            key = job.Key;
        }
        else
        {
            source = Encoding.UTF8.GetString(d.Body.Span);
        }

        return new DeadLetterEntry(key, source, d.LastError ?? "no reason recorded", d.ReceiveCount);
    }

    /// <summary>Reasons quote file names; keep the quotes readable instead of \u0022.</summary>
    private static readonly JsonSerializerOptions ReadableJson = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        TypeInfoResolver = DeadLetterJson.Default,
    };

    private static void WriteDeadLetters(string path, IReadOnlyList<DeadLetterEntry> dead) =>
        ImageEncoder.WriteAtomically(path, DeadLetterReport(dead));

    /// <summary>One JSON line per dead letter: job, source, reason, receives.</summary>
    internal static byte[] DeadLetterReport(IReadOnlyList<DeadLetterEntry> dead)
    {
        var text = new StringBuilder();
        foreach (DeadLetterEntry entry in dead)
        {
            text.Append(JsonSerializer.Serialize(entry, typeof(DeadLetterEntry), ReadableJson)).Append('\n');
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    internal static IEnumerable<string> EnumerateFiles(string inRoot, string outRoot)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0, ReturnSpecialDirectories = false };
        string outPrefix = outRoot.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        return Directory.EnumerateFiles(inRoot, "*", options)
            .Where(p => !p.StartsWith(outPrefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
    }

    internal static void PrintSummary(BacklogSummary s, string outRoot, bool interrupted)
    {
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine();
        if (interrupted)
        {
            Console.WriteLine("Interrupted: the images in progress finished, the rest were given back; rerun to continue.");
        }

        Console.WriteLine(string.Create(inv, $"  done           {s.Done,8}"));
        Console.WriteLine(string.Create(inv, $"  skipped        {s.Skipped,8}   (already done)"));
        Console.WriteLine(string.Create(inv, $"  dead-lettered  {s.DeadLettered,8}   (see {(outRoot.EndsWith(".jsonl", StringComparison.Ordinal) ? outRoot : Path.Combine(outRoot, "dead-letters.jsonl"))})"));
        foreach (DeadLetterEntry d in s.DeadLetters.Take(50))
        {
            Console.WriteLine($"    {d.Source}: {d.Reason}");
        }

        if (s.DeadLetters.Count > 50)
        {
            Console.WriteLine($"    ... and {s.DeadLetters.Count - 50} more");
        }

        if (s.Ignored > 0)
        {
            Console.WriteLine(string.Create(inv, $"  ignored        {s.Ignored,8}   (not image files)"));
        }

        Console.WriteLine(string.Create(inv, $"  elapsed        {s.ElapsedSeconds,8:0.0} s, {s.ImagesPerSecond:0.00} images/s"));
    }

    private static int Fail(string message, int code)
    {
        Console.Error.WriteLine($"bgpipe backlog: {message}");
        return code;
    }
}
