using System.Text;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Core.Records;
using Pipeline.Core.Sources.Embedded;

namespace Pipeline.Core.Tests.Sources.Embedded;

/// <summary>Shared set-up: a fake clock that only moves when a test advances it, and small body/receive helpers.</summary>
internal static class QueueTestKit
{
    public static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Bounds every wait on a real async completion, so a bug fails the test instead of hanging it.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    public static FakeTimeProvider NewClock() => new(Start);

    public static EmbeddedQueue NewQueue(FakeTimeProvider clock, EmbeddedQueueOptions? options = null, EmbeddedQueue? deadLetterQueue = null) =>
        new(options ?? new EmbeddedQueueOptions(), clock, deadLetterQueue);

    public static ReadOnlyMemory<byte> Body(string text) => Encoding.UTF8.GetBytes(text);

    public static string Text(ReadOnlyMemory<byte> body) => Encoding.UTF8.GetString(body.Span);

    public static async Task<SourceRecord> ReceiveOneAsync(EmbeddedQueue queue) =>
        Assert.Single(await queue.ReceiveAsync(1, TimeSpan.Zero, CancellationToken.None));

    public static async Task<IReadOnlyList<SourceRecord>> ReceiveNowAsync(EmbeddedQueue queue, int max = 10) =>
        await queue.ReceiveAsync(max, TimeSpan.Zero, CancellationToken.None);
}
