using Microsoft.Extensions.Logging;
using Pipeline.Lambda.Runtime;

namespace Pipeline.Lambda.Hosting;

/// <summary>
/// The custom runtime's event loop (RuntimeSupport's LambdaBootstrap.RunAsync): next → handle → response, or
/// invocation error when the handler throws. Shutdown cancellation ends it; anything else keeps it polling.
/// </summary>
public sealed partial class RuntimeLoop(RuntimeApiClient runtime, Func<InvocationRequest, CancellationToken, Task<byte[]>> handler, ILogger logger)
{
    public const string TraceIdVariable = "_X_AMZN_TRACE_ID";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                InvocationRequest request = await runtime.GetNextInvocationAsync(cancellationToken).ConfigureAwait(false);
                await InvokeOnceAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Shutdown (SIGTERM), whether it came while waiting for an event or while answering one.
                return;
            }
        }
    }

    private async Task InvokeOnceAsync(InvocationRequest request, CancellationToken cancellationToken)
    {
        // The AWS SDK reads the X-Ray trace header of the current invocation from here, as in the managed runtimes.
        Environment.SetEnvironmentVariable(TraceIdVariable, request.TraceId);
        byte[] response;
        try
        {
            response = await handler(request, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            LogInvocationFailed(logger, request.RequestId, ex.GetType().Name, ex.Message, ex);
            await runtime.SendInvocationErrorAsync(request.RequestId, RuntimeErrorBody.From(ex), cancellationToken).ConfigureAwait(false);
            return;
        }

        await runtime.SendResponseAsync(request.RequestId, response, cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Error, Message = "Invocation {RequestId} failed as a whole ({ErrorType}): {Reason}")]
    private static partial void LogInvocationFailed(ILogger logger, string requestId, string errorType, string reason, Exception ex);
}
