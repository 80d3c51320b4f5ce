using System.Collections.Concurrent;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Pipeline.MassTransit.Tests.Fixtures;

/// <summary>
/// Gets the exact bytes MassTransit puts on the wire for a message: sends it over the in-memory bus to an endpoint
/// whose consumer copies <c>ReceiveContext.Body</c>. The default serializer is MassTransit's System.Text.Json envelope
/// (<c>application/vnd.masstransit+json</c>), the same one its SQS and RabbitMQ transports write.
/// </summary>
public static class EnvelopeCapture
{
    public static async Task<(byte[] Body, string ContentType)> CaptureAsync<T>(T message)
        where T : class
    {
        await using ServiceProvider provider = new ServiceCollection()
            .AddMassTransitTestHarness(x => x.AddConsumer<CapturingConsumer<T>>())
            .BuildServiceProvider(true);
        ITestHarness harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        try
        {
            CapturingConsumer<T>.Captured.Clear();
            await harness.Bus.Publish(message);
            Assert.True(await harness.GetConsumerHarness<CapturingConsumer<T>>().Consumed.Any<T>(), $"the capturing consumer of {typeof(T).Name} was not called");
            Assert.True(CapturingConsumer<T>.Captured.TryDequeue(out (byte[] Body, string ContentType) got), "nothing was captured");
            return got;
        }
        finally
        {
            await harness.Stop();
        }
    }

    public sealed class CapturingConsumer<T> : IConsumer<T>
        where T : class
    {
        public static ConcurrentQueue<(byte[] Body, string ContentType)> Captured { get; } = new();

        public Task Consume(ConsumeContext<T> context)
        {
            Captured.Enqueue((context.ReceiveContext.Body.GetBytes(), context.ReceiveContext.ContentType?.MediaType ?? string.Empty));
            return Task.CompletedTask;
        }
    }
}
