using MassTransit;
using Pipeline.Client.Messages;

namespace Pipeline.MassTransit;

/// <summary>
/// Consumes <see cref="RemoveBackground"/>: runs the pipeline's background-removal function inside its idempotency
/// guard, exactly as the SQS and Kinesis pollers do (see <see cref="BackgroundRemovalRunner"/>). Success and duplicates
/// return; a permanent failure throws <see cref="BackgroundRemovalFailedException"/> (not to be retried); anything
/// worth retrying throws <see cref="BackgroundRemovalRetryException"/> so MassTransit's retry and redelivery apply.
/// Register with <c>x.AddConsumer&lt;RemoveBackgroundConsumer, RemoveBackgroundConsumerDefinition&gt;()</c> after
/// <c>services.AddBackgroundRemoval(...)</c>.
/// </summary>
public sealed class RemoveBackgroundConsumer(BackgroundRemovalRunner runner) : IConsumer<RemoveBackground>
{
    public Task Consume(ConsumeContext<RemoveBackground> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        string messageId = context.MessageId?.ToString() ?? NewId.NextGuid().ToString();
        string source = context.ReceiveContext.InputAddress?.ToString() ?? "masstransit";
        int receiveCount = 1 + context.GetRetryAttempt() + context.GetRedeliveryCount();
        return runner.RunAsync(context.Message, messageId, source, receiveCount, context.CancellationToken);
    }
}

/// <summary>
/// Retries what may pass (<see cref="BackgroundRemovalRetryException"/>, or any other exception) at growing intervals,
/// and never a <see cref="BackgroundRemovalFailedException"/>: that one faults at once, and the guard's record makes a
/// redelivery fail fast with the same reason.
/// </summary>
public sealed class RemoveBackgroundConsumerDefinition : ConsumerDefinition<RemoveBackgroundConsumer>
{
    /// <summary>The retry intervals: 1 s, 5 s, 15 s (the in-process retries of transient failures come first).</summary>
    public static IReadOnlyList<TimeSpan> RetryIntervals { get; } = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(15)];

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<RemoveBackgroundConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        ArgumentNullException.ThrowIfNull(endpointConfigurator);
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Ignore<BackgroundRemovalFailedException>();
            r.Intervals([.. RetryIntervals]);
        });
    }
}
