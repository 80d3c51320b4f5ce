using System.Text;
using Pipeline.Core.Records;

namespace Pipeline.Core.Tests.Fakes;

internal static class TestRecords
{
    private static int _next;

    public static SourceRecord Record(string body, string? id = null, string partitionKey = "", int receiveCount = 1) => new()
    {
        Id = id ?? $"m-{Interlocked.Increment(ref _next)}",
        Body = Encoding.UTF8.GetBytes(body),
        PartitionKey = partitionKey,
        ReceiveCount = receiveCount,
        Source = "test://source",
        ReceiptHandle = id ?? "rh",
    };

    public static SourceRecord Sized(int bodyBytes) => Record(new string('x', bodyBytes));

    public static DecodedRecord Decoded(SourceRecord record)
    {
        bool ok = JsonJobDecoder.Instance.TryDecode(record.Body.Span, out Job? job, out string? error);
        return ok ? DecodedRecord.Valid(record, job!, job!.Key) : DecodedRecord.Invalid(record, error!, record.Id);
    }

    public static DecodedRecord Job(string source, string? jobId = null, int receiveCount = 1, string? id = null) =>
        Decoded(Record(jobId is null ? $$"""{"source":"{{source}}"}""" : $$"""{"jobId":"{{jobId}}","source":"{{source}}"}""", id, receiveCount: receiveCount));
}
