using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Pipeline.Core.Invocation;

/// <summary>
/// Polly v8 retry of one record's function call, inside the idempotency guard: transient failures only, exponential
/// backoff with jitter, and never past the time budget (the source's visibility timeout), so in-process retries
/// don't multiply with redeliveries.
/// </summary>
internal static partial class RecordRetry
{
    private static readonly ResiliencePropertyKey<long> StartedAt = new("bgpipe.record.started");

    public static ResiliencePipeline Create(InvokerOptions options, TimeSpan budget, TimeProvider time, ILogger logger)
    {
        if (options.RetryAttempts == 0)
        {
            return ResiliencePipeline.Empty;
        }

        TimeSpan maxDelay = options.RetryMaxDelay;
        return new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.RetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = options.RetryJitter,
                Delay = options.RetryBaseDelay,
                MaxDelay = maxDelay,
                ShouldHandle = args => ValueTask.FromResult(
                    IsTransient(args.Outcome.Exception) && WithinBudget(args.Context, time, budget, maxDelay)),
                OnRetry = args =>
                {
                    LogRetry(logger, args.AttemptNumber + 1, args.RetryDelay.TotalMilliseconds, args.Outcome.Exception?.Message);
                    return default;
                },
            })
            .Build();
    }

    public static void MarkStart(ResilienceContext context, TimeProvider time) => context.Properties.Set(StartedAt, time.GetTimestamp());

    /// <summary>Transient: what a retry can fix. A missing file or a bad argument is not.</summary>
    public static bool IsTransient(Exception? ex) => ex switch
    {
        null => false,
        PermanentJobException => false,
        OperationCanceledException => false,
        TransientJobException => true,
        TimeoutException => true,
        HttpRequestException => true,
        FileNotFoundException or DirectoryNotFoundException or PathTooLongException => false,
        IOException => true,
        _ => false,
    };

    private static bool WithinBudget(ResilienceContext context, TimeProvider time, TimeSpan budget, TimeSpan maxDelay)
    {
        if (budget <= TimeSpan.Zero || !context.Properties.TryGetValue(StartedAt, out long started))
        {
            return true;
        }

        // Assume the worst next delay, so the retry can never end after the record's visibility has run out.
        return time.GetElapsedTime(started) + maxDelay < budget;
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Debug, Message = "Retrying record (attempt {Attempt}) in {DelayMs} ms after: {Reason}")]
    private static partial void LogRetry(ILogger logger, int attempt, double delayMs, string? reason);
}
