using Microsoft.Extensions.Logging;
using Pipeline.Lambda.Runtime;

namespace Pipeline.Lambda.Hosting;

/// <summary>
/// The bootstrap's life: init (settings, model, clients), reporting any init failure to <c>/init/error</c> and
/// exiting non-zero at once, then the invocation loop until shutdown.
/// </summary>
public static partial class LambdaHost
{
    /// <summary>Exit code when init failed and was reported to the Runtime API.</summary>
    public const int InitFailed = 1;

    /// <summary>Exit code when there is no Runtime API to report to (not running inside Lambda).</summary>
    public const int NoRuntimeApi = 2;

    public static async Task<int> RunAsync(Func<string, string?> getEnv, TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(loggers);
        ILogger logger = loggers.CreateLogger(typeof(LambdaHost).FullName!);
        RuntimeApiClient runtime;
        try
        {
            runtime = RuntimeApiClient.FromEnvironment(getEnv);
        }
        catch (RuntimeApiException ex)
        {
            LogNoRuntime(logger, ex.Message);
            return NoRuntimeApi;
        }

        using (runtime)
        {
            LambdaStack stack;
            try
            {
                stack = await LambdaStack.CreateAsync(LambdaSettings.FromEnvironment(getEnv), time, loggers, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                LogInitFailed(logger, ex.GetType().Name, ex.Message);
                try
                {
                    await runtime.SendInitErrorAsync(RuntimeErrorBody.From(ex), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception sendError) when (sendError is HttpRequestException or RuntimeApiException or OperationCanceledException)
                {
                    LogNoRuntime(logger, $"could not report the init error: {sendError.Message}");
                }

                return InitFailed;
            }

            await using (stack.ConfigureAwait(false))
            {
                await new RuntimeLoop(runtime, stack.Function.HandleAsync, logger).RunAsync(cancellationToken).ConfigureAwait(false);
                return 0;
            }
        }
    }

    [LoggerMessage(EventId = 101, Level = LogLevel.Critical, Message = "Init failed ({ErrorType}): {Reason}")]
    private static partial void LogInitFailed(ILogger logger, string errorType, string reason);

    [LoggerMessage(EventId = 102, Level = LogLevel.Critical, Message = "No Lambda Runtime API: {Reason}")]
    private static partial void LogNoRuntime(ILogger logger, string reason);
}
