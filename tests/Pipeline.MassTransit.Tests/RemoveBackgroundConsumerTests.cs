using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.BackgroundRemoval.Function;
using Pipeline.BackgroundRemoval.Model;
using Pipeline.Client.Messages;
using Pipeline.MassTransit.Tests.Fakes;
using Pipeline.MassTransit.Tests.Fixtures;

namespace Pipeline.MassTransit.Tests;

/// <summary>
/// The consumer on MassTransit's in-memory bus with the embedded default (file function, SQLite idempotency store)
/// and the real model.
/// </summary>
[Collection(ModelAndMotoCollection.Name)]
public sealed class RemoveBackgroundConsumerTests(ModelFixture model)
{
    private sealed class Bus : IAsyncDisposable
    {
        private readonly ServiceProvider _provider;

        public Bus(MatteModel model, string input, string output)
        {
            Input = input;
            Output = output;
            _provider = new ServiceCollection()
                .AddSingleton(model)
                .AddSingleton<IFunctionCallLog>(CallLog)
                .AddBackgroundRemoval(o =>
                {
                    o.InputFolder = input;
                    o.OutputFolder = output;
                })
                .AddMassTransitTestHarness(x => x.AddConsumer<RemoveBackgroundConsumer, RemoveBackgroundConsumerDefinition>())
                .BuildServiceProvider(true);
            Harness = _provider.GetRequiredService<ITestHarness>();
            Runner = _provider.GetRequiredService<BackgroundRemovalRunner>();
        }

        public string Input { get; }

        public string Output { get; }

        public CountingCallLog CallLog { get; } = new();

        public ITestHarness Harness { get; }

        public BackgroundRemovalRunner Runner { get; }

        public IConsumerTestHarness<RemoveBackgroundConsumer> Consumer => Harness.GetConsumerHarness<RemoveBackgroundConsumer>();

        /// <summary>Publishes and waits (bounded) until the runner has finished one more message and the harness saw it consumed.</summary>
        public async Task SendAndWaitAsync(RemoveBackground message)
        {
            long before = Finished();
            var id = NewId.NextGuid();
            await Harness.Bus.Publish(message, c => c.MessageId = id);
            // The model may take seconds on a busy machine, longer than the harness's inactivity timeout.
            await Pipeline.Testing.Wait.UntilAsync(() => Finished() > before, "the runner to finish the message", TimeSpan.FromSeconds(90));
            Assert.True(await Consumer.Consumed.Any<RemoveBackground>(m => m.Context.MessageId == id), "the consumer harness did not see the message");
        }

        private long Finished()
        {
            Pipeline.Core.Hosting.MappingStatistics s = Runner.Statistics;
            return s.SucceededEventCount + s.SkippedEventCount + s.FailedInvokeEventCount + s.DeferredEventCount + s.ReleasedEventCount;
        }

        public async ValueTask DisposeAsync()
        {
            await Harness.Stop();
            await _provider.DisposeAsync();
            Directory.Delete(Path.GetDirectoryName(Input)!, recursive: true);
        }
    }

    private async Task<Bus> StartAsync(params string[] photos)
    {
        (string input, string output) = Photos.Folders(photos);
        var bus = new Bus(model.Model, input, output);
        await bus.Harness.Start();
        return bus;
    }

    [Fact]
    public async Task Given_a_RemoveBackground_for_a_photo_When_it_is_published_Then_the_consumer_writes_a_cutout_with_alpha()
    {
        await using Bus bus = await StartAsync("astronaut.png");

        await bus.SendAndWaitAsync(new RemoveBackground("astronaut.png") { JobId = "mt-astronaut", Destination = "cutouts/astronaut.png" });

        Photos.AssertCutout(Path.Combine(bus.Output, "cutouts", "astronaut.png"));
        Assert.False(await bus.Harness.Published.Any<Fault<RemoveBackground>>(), "the consumer faulted");
        Assert.Equal(1, bus.Runner.Statistics.SucceededEventCount);
    }

    [Fact]
    public async Task Given_the_same_job_sent_twice_When_both_are_consumed_Then_the_function_runs_once_and_the_second_is_a_duplicate()
    {
        await using Bus bus = await StartAsync("chelsea.png");
        var job = new RemoveBackground("chelsea.png") { Output = RemoveBackgroundOutput.Mask };

        await bus.SendAndWaitAsync(job);
        await bus.SendAndWaitAsync(job);

        Assert.Single(bus.CallLog.Calls);
        Assert.Equal(1, bus.Runner.Statistics.SucceededEventCount);
        Assert.Equal(1, bus.Runner.Statistics.SkippedEventCount);
        Assert.Equal(2, bus.Consumer.Consumed.Select<RemoveBackground>().Count());
        Assert.True(File.Exists(Path.Combine(bus.Output, "chelsea.png")), "the mask was not written beside its source's name");
        Assert.False(await bus.Harness.Published.Any<Fault<RemoveBackground>>(), "a duplicate faulted");
    }

    [Fact]
    public async Task Given_a_source_that_is_not_an_image_When_consumed_Then_the_consumer_faults_once_with_BackgroundRemovalFailedException_naming_the_reason()
    {
        await using Bus bus = await StartAsync();
        await File.WriteAllTextAsync(Path.Combine(bus.Input, "notes.jpg"), "these are notes, not a JPEG");

        await bus.SendAndWaitAsync(new RemoveBackground("notes.jpg") { JobId = "poison-1" });

        Assert.True(await bus.Harness.Published.Any<Fault<RemoveBackground>>(), "no fault was published");
        Fault<RemoveBackground> fault = bus.Harness.Published.Select<Fault<RemoveBackground>>().Single().Context.Message;
        ExceptionInfo info = Assert.Single(fault.Exceptions);
        Assert.Equal(typeof(BackgroundRemovalFailedException).FullName, info.ExceptionType);
        Assert.Contains("'poison-1'", info.Message, StringComparison.Ordinal);
        Assert.Contains("notes.jpg", info.Message, StringComparison.Ordinal);
        // Not retried: one consume, one batch, one call of the function, recorded as a permanent failure.
        Assert.Single(bus.Consumer.Consumed.Select<RemoveBackground>());
        Assert.Equal(1, bus.Runner.Statistics.BatchCount);
        Assert.Single(bus.CallLog.Calls);
        Assert.Equal(1, bus.Runner.Statistics.PermanentFailureEventCount);
    }

    [Fact]
    public async Task Given_a_message_that_is_not_a_valid_job_When_consumed_Then_it_faults_naming_the_bad_field_and_the_function_never_runs()
    {
        await using Bus bus = await StartAsync("astronaut.png");

        await bus.SendAndWaitAsync(new RemoveBackground("astronaut.png") { JobId = "bad-colour", Background = "red" });

        Fault<RemoveBackground> fault = (await WaitForFaultAsync(bus)).Context.Message;
        ExceptionInfo info = Assert.Single(fault.Exceptions);
        Assert.Equal(typeof(BackgroundRemovalFailedException).FullName, info.ExceptionType);
        Assert.Contains("'background' must be a colour as #RRGGBB (got 'red')", info.Message, StringComparison.Ordinal);
        Assert.Empty(bus.CallLog.Calls);
    }

    private static async Task<IPublishedMessage<Fault<RemoveBackground>>> WaitForFaultAsync(Bus bus)
    {
        Assert.True(await bus.Harness.Published.Any<Fault<RemoveBackground>>(), "no fault was published");
        return bus.Harness.Published.Select<Fault<RemoveBackground>>().Single();
    }

    [Fact]
    public void Given_no_folders_When_adding_the_embedded_default_Then_it_names_the_missing_setting()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddBackgroundRemoval(o => o.OutputFolder = "out"));

        Assert.Contains("InputFolder", ex.Message, StringComparison.Ordinal);
    }
}
