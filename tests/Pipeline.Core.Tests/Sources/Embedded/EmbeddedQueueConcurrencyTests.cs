using System.Buffers.Binary;
using Pipeline.Core.Sources.Embedded;
using static Pipeline.Core.Tests.Sources.Embedded.QueueTestKit;

namespace Pipeline.Core.Tests.Sources.Embedded;

public sealed class EmbeddedQueueConcurrencyTests
{
    private const int Total = 100_000;
    private const int Consumers = 4;

    [Fact]
    public async Task Given_100000_messages_and_a_concurrent_producer_When_four_tasks_receive_and_delete_Then_each_message_is_delivered_and_deleted_exactly_once()
    {
        // The clock never moves, so no visibility ever expires: any second delivery would be a real duplicate.
        var queue = NewQueue(NewClock());
        var deliveries = new int[Total];
        int deleted = 0;
        int refusedDeletes = 0;

        var preloaded = new ReadOnlyMemory<byte>[Total / 2];
        for (int i = 0; i < preloaded.Length; i++)
        {
            preloaded[i] = Encode(i);
        }

        queue.SendBatch(preloaded);

        Task producer = Task.Run(() =>
        {
            for (int i = Total / 2; i < Total; i++)
            {
                queue.Send(Encode(i));
            }
        });

        async Task ConsumeAsync()
        {
            var handles = new List<string>(10);
            while (Volatile.Read(ref deleted) < Total)
            {
                var batch = await queue.ReceiveAsync(10, TimeSpan.Zero, CancellationToken.None);
                if (batch.Count == 0)
                {
                    await Task.Yield();
                    continue;
                }

                handles.Clear();
                foreach (var record in batch)
                {
                    Interlocked.Increment(ref deliveries[BinaryPrimitives.ReadInt32LittleEndian(record.Body.Span)]);
                    handles.Add(record.ReceiptHandle!);
                }

                int done = queue.DeleteBatch(handles);
                Interlocked.Add(ref refusedDeletes, handles.Count - done);
                Interlocked.Add(ref deleted, done);
            }
        }

        var consumers = new Task[Consumers];
        for (int c = 0; c < Consumers; c++)
        {
            consumers[c] = Task.Run(ConsumeAsync);
        }

        await Task.WhenAll([producer, .. consumers]).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(Total, deleted);
        Assert.Equal(0, refusedDeletes);
        Assert.DoesNotContain(deliveries, count => count != 1);
        Assert.True(queue.IsEmpty);
        await queue.WaitUntilEmptyAsync(CancellationToken.None).WaitAsync(Bound);
    }

    private static ReadOnlyMemory<byte> Encode(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
        return bytes;
    }
}
