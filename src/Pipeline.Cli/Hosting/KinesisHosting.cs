using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Microsoft.Extensions.Logging;
using Pipeline.Aws.Kinesis.Client;
using Pipeline.Aws.Kinesis.Leases;
using Pipeline.Aws.Kinesis.Mapping;
using Pipeline.Aws.Kinesis.OnFailure;
using Pipeline.Aws.Mappings;
using Pipeline.Aws.Provisioning;
using Pipeline.Aws.Sqs;
using Pipeline.Core.Filtering;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;
using Pipeline.Core.Sources.Streams;
using PollingPosition = Pipeline.Aws.Kinesis.Polling.StartingPosition;

namespace Pipeline.Cli.Hosting;

/// <summary>
/// The Kinesis half of <c>bgpipe run</c>: one <see cref="KinesisEventSourceMapping"/> per enabled Kinesis event, sharing
/// the stream's shards with every other host on the same lease table (<c>&lt;prefix&gt;kinesis-leases</c>, made by
/// <c>bgpipe provision</c>).
/// </summary>
internal static class KinesisHosting
{
    /// <summary>Host settings that tune the lease protocol (tests shorten them; production keeps KCL's defaults).</summary>
    internal sealed record LeaseSettings(TimeSpan LeaseDuration, string WorkerId);

    public static async Task<KinesisEventSourceMapping> CreateAsync(
        KinesisEventDefinition ev,
        string prefix,
        IKinesisClient kinesis,
        IAmazonDynamoDB dynamoDb,
        Amazon.SQS.IAmazonSQS sqs,
        IJobFunction function,
        IdempotencyGuard guard,
        InvokerOptions invoker,
        LeaseSettings leases,
        TimeProvider time,
        ILoggerFactory loggers,
        CancellationToken ct)
    {
        if (ev.TumblingWindowInSeconds is > 0)
        {
            // A tumbling window hands state from one invocation to the next; the background-removal function keeps none.
            throw new HostConfigurationException($"event '{ev.Name}': TumblingWindowInSeconds {ev.TumblingWindowInSeconds} is not supported by this host (the function keeps no state between batches); remove it or set it to 0");
        }

        string leaseTable = prefix + ResourceList.DefaultLeaseTable;
        await RequireLeaseTableAsync(dynamoDb, leaseTable, ct).ConfigureAwait(false);

        IOnFailureDestination? destination = null;
        if (ev.OnFailure is { } onFailure)
        {
            string destinationName = onFailure.Destination.ResolveName(prefix);
            if (onFailure.Type is { } type && !string.Equals(type, "SQS", StringComparison.OrdinalIgnoreCase))
            {
                throw new HostConfigurationException($"event '{ev.Name}': DestinationConfig.OnFailure Type {type} is not supported by this host; use an SQS queue");
            }

            if (destinationName.StartsWith("arn:aws:sns:", StringComparison.Ordinal) || destinationName.StartsWith("arn:aws:s3:", StringComparison.Ordinal))
            {
                throw new HostConfigurationException($"event '{ev.Name}': DestinationConfig.OnFailure {destinationName} is not an SQS queue; this host sends on-failure records to SQS only");
            }

            // Fail at start, not at the first discarded batch, when the queue is missing.
            string url = await SqsQueues.ResolveUrlAsync(sqs, destinationName, ct).ConfigureAwait(false);
            destination = new SqsOnFailureDestination(sqs, url, time: time, logger: loggers.CreateLogger<SqsOnFailureDestination>());
        }

        KinesisMappingOptions options = Options(ev, prefix, invoker);
        await RequireStreamAsync(kinesis, options.StreamName, ct).ConfigureAwait(false);
        var leaseOptions = new LeaseCoordinatorOptions { WorkerId = leases.WorkerId, LeaseDuration = leases.LeaseDuration };
        var store = new DynamoDbLeaseStore(dynamoDb, leaseTable);
        return new KinesisEventSourceMapping(options, kinesis, store, leaseOptions, function, guard, destination, time, loggers);
    }

    /// <summary>The mapping options of a Kinesis event: the ESM's settings as the file gives them.</summary>
    internal static KinesisMappingOptions Options(KinesisEventDefinition ev, string prefix, InvokerOptions invoker) => new KinesisMappingOptions
    {
        StreamName = StreamName(ev.Stream.ResolveName(prefix)),
        Name = ev.Name,
        ParallelizationFactor = ev.ParallelizationFactor,
        Batching = ev.ToBatchingOptions(),
        StartingPosition = ev.StartingPosition switch
        {
            StartingPosition.Latest => PollingPosition.Latest,
            StartingPosition.AtTimestamp => PollingPosition.AtTimestamp,
            _ => PollingPosition.TrimHorizon,
        },
        StartingPositionTimestamp = ev.StartingPositionTimestamp,
        Failure = new StreamFailureOptions
        {
            ReportBatchItemFailures = ev.ReportBatchItemFailures,
            BisectBatchOnFunctionError = ev.BisectBatchOnFunctionError,
            MaximumRetryAttempts = ev.MaximumRetryAttempts,
            MaximumRecordAge = ev.MaximumRecordAgeInSeconds < 0 ? null : TimeSpan.FromSeconds(ev.MaximumRecordAgeInSeconds),
        },
        Invoker = invoker,
        Filter = ev.FilterCriteria.IsEmpty ? null : FilterCriteria.Create(ev.FilterCriteria.Patterns, FilterCriteria.KinesisPayloadKey),
    }.Validate();

    public static string Describe(KinesisEventDefinition ev, KinesisEventSourceMapping mapping, string table, string leaseTable)
    {
        KinesisMappingOptions o = mapping.Options;
        string retries = o.Failure.MaximumRetryAttempts < 0 ? "retries until expiry" : $"{o.Failure.MaximumRetryAttempts} retries";
        string age = o.Failure.MaximumRecordAge is { } a ? $"max age {a.TotalSeconds} s" : "no max age";
        string onFailure = ev.OnFailure is { } f ? $"on failure -> {f.Destination}" : "no on-failure destination";
        return string.Create(CultureInfo.InvariantCulture,
            $"bgpipe run: {ev.Name} <- stream {o.StreamName} (BatchSize {o.Batching.BatchSize}, window {o.Batching.MaximumBatchingWindowInSeconds} s, ParallelizationFactor {o.ParallelizationFactor}, {o.StartingPosition}, {retries}, {age}, bisect {(o.Failure.BisectBatchOnFunctionError ? "on" : "off")}, {onFailure}, leases {leaseTable}, idempotency table {table})");
    }

    /// <summary>A stream ARN's name part; a plain name as it is (the client addresses streams by name).</summary>
    private static string StreamName(string resolved)
    {
        const string Marker = ":stream/";
        int at = resolved.IndexOf(Marker, StringComparison.Ordinal);
        return resolved.StartsWith("arn:", StringComparison.Ordinal) && at > 0 ? resolved[(at + Marker.Length)..] : resolved;
    }

    /// <summary>
    /// Checks the stream at start so that a missing stream reads like a missing lease table, and an unreachable
    /// Kinesis endpoint is reported as Kinesis's (it may differ from --endpoint-url), not as a bare transport error.
    /// </summary>
    private static async Task RequireStreamAsync(IKinesisClient kinesis, string stream, CancellationToken ct)
    {
        try
        {
            await kinesis.DescribeStreamSummaryAsync(new DescribeStreamSummaryRequest { StreamName = stream }, ct).ConfigureAwait(false);
        }
        catch (KinesisResourceNotFoundException)
        {
            throw new HostConfigurationException($"the Kinesis stream {stream} does not exist; create it with 'bgpipe provision --shards N' (same --kinesis-endpoint-url and --prefix)");
        }
        catch (HttpRequestException ex)
        {
            throw new KinesisServiceException($"Kinesis is not reachable: {ex.Message}", ex);
        }
    }

    private static async Task RequireLeaseTableAsync(IAmazonDynamoDB dynamoDb, string table, CancellationToken ct)
    {
        try
        {
            await dynamoDb.DescribeTableAsync(new DescribeTableRequest { TableName = table }, ct).ConfigureAwait(false);
        }
        catch (ResourceNotFoundException)
        {
            throw new HostConfigurationException($"the lease table {table} does not exist; create it with 'bgpipe provision --shards N' (same --endpoint-url and --prefix)");
        }
    }
}
