using System.Net;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Aws.Sqs;

namespace Pipeline.Aws.Kinesis.OnFailure;

/// <summary>
/// Sends on-failure records to an SQS queue named by name, URL or ARN (resolved once, on first use). Transient
/// failures (throttling, 5xx, network errors, client timeouts) are retried with jittered, capped exponential backoff;
/// anything else, or running out of attempts, ends in <see cref="OnFailureDeliveryException"/>.
/// </summary>
public sealed partial class SqsOnFailureDestination : IOnFailureDestination
{
    private static readonly HashSet<string> TransientCodes = new(StringComparer.Ordinal)
    {
        "ThrottlingException", "Throttling", "RequestThrottled", "ServiceUnavailable", "InternalError", "InternalFailure",
        "RequestTimeout", "KmsThrottled",
    };

    private readonly IAmazonSQS _sqs;
    private readonly string _queue;
    private readonly SqsOnFailureDestinationOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private string? _url;

    public SqsOnFailureDestination(IAmazonSQS sqs, string queue, SqsOnFailureDestinationOptions? options = null, TimeProvider? time = null, ILogger<SqsOnFailureDestination>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(sqs);
        if (string.IsNullOrWhiteSpace(queue))
        {
            throw new ArgumentException("The on-failure destination needs a queue name, URL or ARN; got an empty value.", nameof(queue));
        }

        _sqs = sqs;
        _queue = queue;
        _options = (options ?? SqsOnFailureDestinationOptions.Default).Validate();
        _time = time ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>The queue as configured.</summary>
    public string Queue => _queue;

    public async Task SendAsync(KinesisFailureRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        string body = KinesisFailureJson.Serialize(record);
        string url = await ResolveAsync(record, cancellationToken).ConfigureAwait(false);
        var request = new SendMessageRequest { QueueUrl = url, MessageBody = body };

        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await _sqs.SendMessageAsync(request, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                if (ex is QueueDoesNotExistException)
                {
                    throw new OnFailureDeliveryException(_queue, record.KinesisBatchInfo, attempt, $"SQS queue '{_queue}' does not exist", ex);
                }

                if (!IsTransient(ex))
                {
                    throw new OnFailureDeliveryException(_queue, record.KinesisBatchInfo, attempt, ex.Message, ex);
                }

                if (attempt >= _options.MaxAttempts)
                {
                    throw new OnFailureDeliveryException(_queue, record.KinesisBatchInfo, attempt, $"transient errors did not clear, the last: {ex.Message}", ex);
                }

                TimeSpan delay = DelayBefore(attempt);
                Log.RetryingSend(_logger, record.KinesisBatchInfo.ShardId, _queue, attempt, delay, ex.Message);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<string> ResolveAsync(KinesisFailureRecord record, CancellationToken cancellationToken)
    {
        if (_url is { } cached)
        {
            return cached;
        }

        try
        {
            _url = await SqsQueues.ResolveUrlAsync(_sqs, _queue, cancellationToken).ConfigureAwait(false);
            return _url;
        }
        catch (SqsQueueNotFoundException ex)
        {
            throw new OnFailureDeliveryException(_queue, record.KinesisBatchInfo, 0, $"SQS queue '{_queue}' does not exist", ex);
        }
        catch (ArgumentException ex)
        {
            throw new OnFailureDeliveryException(_queue, record.KinesisBatchInfo, 0, ex.Message, ex);
        }
    }

    // Full jitter over a capped exponential: spreads retries of many shards that failed together.
    private TimeSpan DelayBefore(int attempt)
    {
        double ceiling = Math.Min(_options.MaxDelay.TotalMilliseconds, _options.BaseDelay.TotalMilliseconds * Math.Pow(2, attempt - 1));
        return TimeSpan.FromMilliseconds((ceiling / 2) + (Random.Shared.NextDouble() * ceiling / 2));
    }

    private static bool IsTransient(Exception ex) => ex switch
    {
        AmazonServiceException service => (int)service.StatusCode >= 500 || service.StatusCode == HttpStatusCode.TooManyRequests
            || (service.ErrorCode is { } code && TransientCodes.Contains(code))
            || (service.StatusCode == 0 && service.InnerException is HttpRequestException or IOException),
        // Cancellation without the caller's token asking for it is the SDK's own request timeout.
        HttpRequestException or IOException or OperationCanceledException => true,
        AmazonClientException client => client.InnerException is HttpRequestException or IOException or WebException,
        _ => false,
    };

    private static partial class Log
    {
        [LoggerMessage(EventId = 6101, Level = LogLevel.Warning, Message = "on-failure record of {ShardId} not yet delivered to {Queue} (attempt {Attempt}); retrying in {Delay}: {Reason}")]
        public static partial void RetryingSend(ILogger logger, string shardId, string queue, int attempt, TimeSpan delay, string reason);
    }
}
