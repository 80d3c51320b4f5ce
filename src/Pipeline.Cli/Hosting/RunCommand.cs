using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using Pipeline.Aws;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Aws.Kinesis.Mapping;
using Pipeline.Aws.Mappings;
using Pipeline.Aws.Provisioning;
using Pipeline.Aws.Sqs;
using Pipeline.BackgroundRemoval;
using Pipeline.BackgroundRemoval.Function;
using Pipeline.BackgroundRemoval.Model;
using Pipeline.Cli.Commands;
using Pipeline.Cli.Telemetry;
using Pipeline.Core.Filtering;
using Pipeline.Core.Hosting;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Scaling;
using Pipeline.Core.Telemetry;

namespace Pipeline.Cli.Hosting;

/// <summary>
/// <c>bgpipe run pipelines/&lt;mapping&gt;.yaml [--endpoint-url URL]</c>: hosts the file's event source mappings until
/// stopped. SIGTERM or Ctrl+C stops polling, lets in-flight batches finish, and makes unstarted messages visible
/// again at once. Metrics carry the ESM's names (see <see cref="MappingMeter"/>).
/// </summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("pipeline") { Description = "A mapping file, e.g. pipelines/sqs-backlog.yaml (SAM Events: property names)." };
        var endpoint = new Option<string?>("--endpoint-url") { Description = "An AWS-compatible endpoint (LocalStack, moto_server); without it, AWS through the default credentials chain." };
        var prefix = new Option<string>("--prefix") { Description = "Prefix of the resource names, as given to 'bgpipe provision'.", DefaultValueFactory = _ => string.Empty };
        Option<string?> model = CommonOptions.Model();
        var maxConcurrency = new Option<int?>("--max-concurrency") { Description = "Cap on concurrent batches per mapping on this host (2-1000), below the file's ScalingConfig.MaximumConcurrency." };
        var metrics = new Option<string>("--metrics") { Description = "Metrics export: none or console (OpenTelemetry).", DefaultValueFactory = _ => "none" };
        var metricsInterval = new Option<int>("--metrics-interval") { Description = "Seconds between metric exports.", DefaultValueFactory = _ => 60 };
        var logLevel = new Option<string>("--log-level") { Description = "trace, debug, information, warning or error.", DefaultValueFactory = _ => "information" };
        var callLog = new Option<string?>("--call-log") { Description = "Append one line per function call to this file (for crash tests)." };
        var waitTime = new Option<int>("--wait-time-seconds") { Description = "SQS long-poll wait (0-20).", DefaultValueFactory = _ => 20 };
        var claimLease = new Option<double>("--claim-lease") { Description = "Seconds an idempotency claim lives without a heartbeat (a crashed host's claims expire after it).", DefaultValueFactory = _ => InvokerOptions.Default.ClaimLease.TotalSeconds };
        var heartbeat = new Option<double>("--heartbeat") { Description = "Seconds between claim and visibility heartbeats (below --claim-lease).", DefaultValueFactory = _ => InvokerOptions.Default.HeartbeatInterval.TotalSeconds };
        var leaseDuration = new Option<double>("--lease-duration") { Description = "Kinesis: seconds a shard lease lives without renewal; a dead host's shards move after it (KCL's failover time).", DefaultValueFactory = _ => 10 };
        var kinesisEndpoint = new Option<string?>("--kinesis-endpoint-url") { Description = "Kinesis at another endpoint than --endpoint-url (e.g. kinesalite beside moto_server)." };
        var workerId = new Option<string?>("--worker-id") { Description = "Kinesis: this host's name in the lease table (default: host, pid and a random instance)." };
        var command = new Command("run", "Host the event source mappings (SQS and Kinesis) of a pipeline file until stopped (SIGTERM / Ctrl+C stop gracefully).")
        {
            file, endpoint, prefix, model, maxConcurrency, metrics, metricsInterval, logLevel, callLog, waitTime, claimLease, heartbeat, leaseDuration, workerId, kinesisEndpoint,
        };
        command.SetAction((parse, ct) => RunAsync(
            new Settings(
                parse.GetValue(file)!, parse.GetValue(endpoint), parse.GetValue(prefix)!, parse.GetValue(model), parse.GetValue(maxConcurrency),
                parse.GetValue(metrics)!, parse.GetValue(metricsInterval), parse.GetValue(logLevel)!, parse.GetValue(callLog),
                parse.GetValue(waitTime), parse.GetValue(claimLease), parse.GetValue(heartbeat), parse.GetValue(leaseDuration), parse.GetValue(workerId), parse.GetValue(kinesisEndpoint)),
            ct));
        return command;
    }

    private sealed record Settings(
        string File, string? EndpointUrl, string Prefix, string? Model, int? MaxConcurrency, string Metrics, int MetricsInterval,
        string LogLevel, string? CallLog, int WaitTimeSeconds, double ClaimLeaseSeconds, double HeartbeatSeconds, double LeaseDurationSeconds, string? WorkerId, string? KinesisEndpointUrl);

    private static async Task<int> RunAsync(Settings s, CancellationToken ct)
    {
        if (Validate(s) is { } usage)
        {
            return Fail(usage, ExitCodes.Usage);
        }

        PipelineDefinition pipeline;
        try
        {
            pipeline = PipelineDefinitionLoader.LoadFile(s.File);
        }
        catch (MappingDefinitionException ex)
        {
            return Fail(ex.Message, ExitCodes.Usage);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Fail($"cannot read {s.File}: {ex.Message}", ExitCodes.Usage);
        }

        var enabled = pipeline.SqsEvents.Where(e => e.Enabled).ToList();
        var streams = pipeline.KinesisEvents.Where(e => e.Enabled).ToList();
        if (enabled.Count == 0 && streams.Count == 0)
        {
            return Fail($"{s.File}: no enabled SQS or Kinesis event to host", ExitCodes.Usage);
        }

        if (!CommonOptions.TryParseEndpoints(s.EndpointUrl, s.KinesisEndpointUrl, out AwsEndpoint endpoint, out AwsEndpoint kinesisEndpoint, out string? endpointError))
        {
            return Fail(endpointError!, ExitCodes.Usage);
        }

        _ = Enum.TryParse(s.LogLevel, ignoreCase: true, out LogLevel level);
        using ILoggerFactory loggers = ConsoleLineLoggerProvider.CreateFactory(level);
        using MeterProvider? exporter = MetricsExport.Start(s.Metrics, TimeSpan.FromSeconds(s.MetricsInterval), MappingMeter.Name);

        if (!CommonOptions.TryLoadModel(s.Model, out MatteModel? matte, out string? modelError))
        {
            return Fail(modelError, ExitCodes.Infrastructure);
        }

        using (matte)
        {
            try
            {
                return await HostAsync(s, pipeline, enabled, streams, endpoint, kinesisEndpoint, matte, loggers, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HostConfigurationException or FilterCriteriaException or ArgumentException)
            {
                return Fail(ex.Message, ExitCodes.Usage);
            }
            catch (Aws.Kinesis.Client.KinesisServiceException ex)
            {
                // Name the endpoint Kinesis was asked at: with --kinesis-endpoint-url it is not --endpoint-url.
                return Fail($"{kinesisEndpoint}: {ex.Message}", ExitCodes.Infrastructure);
            }
            catch (Exception ex) when (ex is Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or HttpRequestException or SqsQueueNotFoundException)
            {
                return Fail($"{endpoint}: {ex.Message}", ExitCodes.Infrastructure);
            }
        }
    }

    private static async Task<int> HostAsync(
        Settings s, PipelineDefinition pipeline, IReadOnlyList<SqsEventDefinition> events, IReadOnlyList<KinesisEventDefinition> streams,
        AwsEndpoint endpoint, AwsEndpoint kinesisEndpoint, MatteModel matte, ILoggerFactory loggers, CancellationToken ct)
    {
        TimeProvider time = TimeProvider.System;
        ILogger log = loggers.CreateLogger("bgpipe.run");
        await using RemoteStack stack = RemoteStack.Connect(endpoint);
        using FileCallLog? callLog = s.CallLog is null ? null : new FileCallLog(s.CallLog);
        var invoker = InvokerOptions.Default with
        {
            ClaimLease = TimeSpan.FromSeconds(s.ClaimLeaseSeconds),
            HeartbeatInterval = TimeSpan.FromSeconds(s.HeartbeatSeconds),
        };
        IJobFunction function = stack.CreateFunction(new BackgroundRemover(matte), pipeline.Function.Buckets, pipeline.Function.OutputPrefix, null, callLog, loggers);
        string table = s.Prefix + pipeline.Function.IdempotencyTable;
        var guard = stack.CreateGuard(table, invoker, time, loggers);

        var mappings = new List<(SqsEventDefinition Event, EventSourceMapping Mapping, SqsRecordSource Source)>();
        var streamMappings = new List<(KinesisEventDefinition Event, KinesisEventSourceMapping Mapping)>();
        using KinesisClient kinesis = kinesisEndpoint.CreateKinesis();
        try
        {
            string worker = s.WorkerId ?? OwnerIdentity.Current.WithNewInstance().ToString();
            var leases = new KinesisHosting.LeaseSettings(TimeSpan.FromSeconds(s.LeaseDurationSeconds), worker);
            foreach (KinesisEventDefinition ev in streams)
            {
                KinesisEventSourceMapping mapping = await KinesisHosting.CreateAsync(
                    ev, s.Prefix, kinesis, stack.DynamoDb, stack.Sqs, function, guard, invoker, leases, time, loggers, ct).ConfigureAwait(false);
                streamMappings.Add((ev, mapping));
                Console.WriteLine(KinesisHosting.Describe(ev, mapping, table, s.Prefix + ResourceList.DefaultLeaseTable));
            }

            foreach (SqsEventDefinition ev in events)
            {
                SqsRecordSource source = await stack.CreateSqsSourceAsync(ev.Queue.ResolveName(s.Prefix), s.WaitTimeSeconds, time, loggers, ct).ConfigureAwait(false);
                CheckQueue(log, ev, source, pipeline.Function);
                MappingOptions options = Options(ev, FitRetries(invoker, source.VisibilityTimeout), s.MaxConcurrency);
                var mapping = new EventSourceMapping(options, source, function, guard, time, decoder: null, loggers);
                mappings.Add((ev, mapping, source));
                Console.WriteLine(Describe(ev, source, options, table));
            }

            Console.WriteLine($"bgpipe run: {mappings.Count + streamMappings.Count} mapping(s) on {endpoint}; Ctrl+C or SIGTERM stops gracefully.");
            await Task.WhenAll(mappings.Select(m => m.Mapping.RunAsync(ct)).Concat(streamMappings.Select(m => m.Mapping.RunAsync(ct)))).ConfigureAwait(false);
        }
        finally
        {
            foreach (var (_, _, source) in mappings)
            {
                await source.DisposeAsync().ConfigureAwait(false);
            }
        }

        foreach (var (ev, mapping, _) in mappings)
        {
            MappingStatistics st = mapping.Statistics;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"bgpipe run: {ev.Name} stopped: polled {st.PolledEventCount}, invoked {st.InvokedEventCount}, succeeded {st.SucceededEventCount}, skipped {st.SkippedEventCount}, failed {st.FailedInvokeEventCount}, filtered out {st.FilteredOutEventCount}, deleted {st.DeletedEventCount}, released {st.ReleasedEventCount}"));
        }

        foreach (var (ev, mapping) in streamMappings)
        {
            MappingStatistics st = mapping.Statistics;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"bgpipe run: {ev.Name} stopped: polled {st.PolledEventCount}, invoked {st.InvokedEventCount}, succeeded {st.SucceededEventCount}, skipped {st.SkippedEventCount}, failed {st.FailedInvokeEventCount}, filtered out {st.FilteredOutEventCount}, dropped {st.DroppedEventCount}, sent to on-failure {st.OnFailureDestinationDeliveredEventCount}"));
        }

        return ExitCodes.Ok;
    }

    /// <summary>Mapping options from the event: batching, lanes, filter, and the ESM's scaling (standard queues).</summary>
    internal static MappingOptions Options(SqsEventDefinition ev, InvokerOptions invoker, int? hostCap)
    {
        // Prefetch little: a received message's visibility clock runs while it waits in a buffer, and only the batch
        // being invoked is heartbeated. One batch waiting per lane and one receive's worth in the poll buffer keep
        // every message's wait well inside the visibility timeout (6 x the function timeout), as the ESM does by
        // polling only for batches it can start.
        MappingOptions options = ev.ToMappingOptions(new MappingOptions
        {
            Invoker = invoker,
            LaneCapacity = ev.BatchSize,
            PollBufferCapacity = Math.Max(10, ev.BatchSize),
            MaxRecordsPerPoll = 10,
        });
        int maximum = Math.Min(ev.MaximumConcurrency ?? ScalingMaximum, hostCap ?? ScalingMaximum);
        FilterCriteria? filter = ev.FilterCriteria.IsEmpty ? null : FilterCriteria.Create(ev.FilterCriteria.Patterns);
        if (ev.IsFifo)
        {
            // FIFO: one lane per message group at most; the ESM does not add concurrency beyond active groups, and
            // order per group comes from the partition-key lanes.
            return options with { Name = ev.Name, Filter = filter, Concurrency = Math.Min(options.Concurrency, maximum) };
        }

        return options with
        {
            Name = ev.Name,
            Filter = filter,
            Scaling = new ScalingOptions
            {
                Enabled = true,
                MaximumConcurrency = maximum,
                InitialConcurrency = Math.Min(5, maximum),
                MinimumConcurrency = Math.Min(2, maximum),
            },
        };
    }

    private const int ScalingMaximum = 1000;

    /// <summary>
    /// In-process retries must end before the message's visibility timeout, or SQS hands it to someone else while we
    /// still retry. Short timeouts (tests, small functions) get shorter retry delays, then fewer attempts.
    /// </summary>
    internal static InvokerOptions FitRetries(InvokerOptions invoker, TimeSpan visibility)
    {
        if (invoker.RetryAttempts * invoker.RetryMaxDelay < visibility)
        {
            return invoker;
        }

        TimeSpan maxDelay = visibility / (invoker.RetryAttempts + 1);
        if (maxDelay >= invoker.RetryBaseDelay)
        {
            return invoker with { RetryMaxDelay = maxDelay };
        }

        int attempts = (int)Math.Max(0, (visibility / invoker.RetryBaseDelay) - 1);
        return invoker with { RetryAttempts = Math.Min(invoker.RetryAttempts, attempts), RetryMaxDelay = invoker.RetryBaseDelay };
    }

    private static void CheckQueue(ILogger log, SqsEventDefinition ev, SqsRecordSource source, FunctionDefinition function)
    {
        if (source.Queue.RedrivePolicy is null)
        {
            log.LogWarning("{Queue} has no RedrivePolicy: a message that keeps failing is retried until the queue's retention ends (run 'bgpipe provision')", source.Queue.Url);
        }

        if (source.VisibilityTimeout < function.Timeout * 6)
        {
            log.LogWarning("{Queue} has a visibility timeout of {Visibility} s, below 6 x the function timeout ({Timeout} s) that AWS advises", source.Queue.Url, source.VisibilityTimeout.TotalSeconds, function.TimeoutSeconds);
        }

        _ = ev;
    }

    private static string Describe(SqsEventDefinition ev, SqsRecordSource source, MappingOptions options, string table)
    {
        string concurrency = options.Scaling.Enabled
            ? $"{options.Scaling.InitialConcurrency} concurrent batches, scaling {options.Scaling.MinimumConcurrency}-{options.Scaling.MaximumConcurrency}"
            : $"{options.Concurrency} concurrent batches (FIFO)";
        string filter = options.Filter is null ? "no filter" : $"{ev.FilterCriteria.Patterns.Count} filter pattern(s)";
        return string.Create(CultureInfo.InvariantCulture,
            $"bgpipe run: {ev.Name} <- {source.Queue.Url} (BatchSize {ev.BatchSize}, window {ev.MaximumBatchingWindowInSeconds} s, {concurrency}, {filter}, visibility {source.VisibilityTimeout.TotalSeconds} s, idempotency table {table})");
    }

    private static string? Validate(Settings s)
    {
        if (s.MaxConcurrency is { } cap && (cap < 2 || cap > 1000))
        {
            return $"--max-concurrency must be between 2 and 1000 (got {cap})";
        }

        if (!MetricsExport.Modes.Contains(s.Metrics, StringComparer.OrdinalIgnoreCase))
        {
            return $"--metrics must be one of {string.Join(", ", MetricsExport.Modes)} (got '{s.Metrics}')";
        }

        if (s.MetricsInterval is < 1 or > 3600)
        {
            return $"--metrics-interval must be between 1 and 3600 seconds (got {s.MetricsInterval})";
        }

        if (!Enum.TryParse(s.LogLevel, ignoreCase: true, out LogLevel level) || level == LogLevel.None)
        {
            return $"--log-level must be trace, debug, information, warning or error (got '{s.LogLevel}')";
        }

        if (s.WaitTimeSeconds is < 0 or > 20)
        {
            return $"--wait-time-seconds must be between 0 and 20 (got {s.WaitTimeSeconds})";
        }

        if (s.ClaimLeaseSeconds is < 1 or > 43200)
        {
            return $"--claim-lease must be between 1 and 43200 seconds (got {s.ClaimLeaseSeconds})";
        }

        if (s.LeaseDurationSeconds is < 0.2 or > 3600)
        {
            return $"--lease-duration must be between 0.2 and 3600 seconds (got {s.LeaseDurationSeconds})";
        }

        if (s.WorkerId is { } id && (string.IsNullOrWhiteSpace(id) || id.Length > 256))
        {
            return $"--worker-id must be 1 to 256 characters (got '{id}')";
        }

        if (s.HeartbeatSeconds <= 0 || s.HeartbeatSeconds >= s.ClaimLeaseSeconds)
        {
            return $"--heartbeat must be above 0 and below --claim-lease ({s.ClaimLeaseSeconds} s) (got {s.HeartbeatSeconds})";
        }

        return null;
    }

    private static int Fail(string message, int code)
    {
        Console.Error.WriteLine($"bgpipe run: {message}");
        return code;
    }
}
