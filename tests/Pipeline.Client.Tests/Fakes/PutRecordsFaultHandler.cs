using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Pipeline.Client.Tests.Fakes;

/// <summary>
/// On the real HTTP path to the emulator. The first PutRecords is tampered with: either it is answered with a
/// throttling error without reaching the server (<see cref="FailWholeRequest"/>), or the records at every
/// <see cref="DropEvery"/>-th position are taken out of the request before it goes on and answered with an ErrorCode,
/// so the server really never got them (the emulators do not check the signature of the body).
/// </summary>
internal sealed class PutRecordsFaultHandler : DelegatingHandler
{
    private const string Target = "Kinesis_20131202.PutRecords";
    private int _tampered;

    public PutRecordsFaultHandler() : base(new SocketsHttpHandler()) { }

    public bool FailWholeRequest { get; init; }

    /// <summary>Every n-th record of the first request is dropped; 0 = every request passes untouched.</summary>
    public int DropEvery { get; init; } = 3;

    /// <summary>Answer every PutRecords with a throttling error (none reaches the server).</summary>
    public bool FailAll { get; init; }

    /// <summary>When set, each PutRecords request's record count and bytes (data + partition keys) are kept in <see cref="Requests"/>.</summary>
    public bool MeasureRequests { get; init; }

    public List<(int Records, long Bytes)> Requests { get; } = [];

    /// <summary>The partition keys of the records answered with an ErrorCode.</summary>
    public List<string> Dropped { get; } = [];

    /// <summary>How many PutRecords requests went through this handler.</summary>
    public int PutRecordsCalls { get; private set; }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        string target = request.Headers.TryGetValues("X-Amz-Target", out var values) ? values.Single() : "";
        if (target != Target)
        {
            return await base.SendAsync(request, cancellationToken);
        }

        PutRecordsCalls++;
        if (MeasureRequests)
        {
            var sent = JsonNode.Parse(await request.Content!.ReadAsStringAsync(cancellationToken))!["Records"]!.AsArray();
            long bytes = sent.Sum(r => (long)Convert.FromBase64String(r!["Data"]!.GetValue<string>()).Length + Encoding.UTF8.GetByteCount(r["PartitionKey"]!.GetValue<string>()));
            lock (Requests)
            {
                Requests.Add((sent.Count, bytes));
            }
        }

        if (FailAll)
        {
            return Throttled();
        }

        if (DropEvery <= 0 || Interlocked.Exchange(ref _tampered, 1) == 1)
        {
            return await base.SendAsync(request, cancellationToken);
        }

        if (FailWholeRequest)
        {
            return Throttled();
        }

        var body = JsonNode.Parse(await request.Content!.ReadAsStringAsync(cancellationToken))!.AsObject();
        var records = body["Records"]!.AsArray();
        var keep = new JsonArray();
        var droppedAt = new List<int>();
        for (int i = 0; i < records.Count; i++)
        {
            if (i % DropEvery == 0)
            {
                droppedAt.Add(i);
                Dropped.Add(records[i]!["PartitionKey"]!.GetValue<string>());
            }
            else
            {
                keep.Add(records[i]!.DeepClone());
            }
        }

        body["Records"] = keep;
        var forwarded = new HttpRequestMessage(request.Method, request.RequestUri) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8) };
        forwarded.Content.Headers.ContentType = request.Content.Headers.ContentType;
        foreach (var header in request.Headers)
        {
            forwarded.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        using var real = await base.SendAsync(forwarded, cancellationToken);
        real.EnsureSuccessStatusCode();
        var answer = JsonNode.Parse(await real.Content.ReadAsStringAsync(cancellationToken))!.AsObject();
        var results = answer["Records"]!.AsArray();
        var merged = new JsonArray();
        int next = 0;
        for (int i = 0; i < records.Count; i++)
        {
            merged.Add(droppedAt.Contains(i)
                ? new JsonObject
                {
                    ["ErrorCode"] = i % 2 == 0 ? "ProvisionedThroughputExceededException" : "InternalFailure",
                    ["ErrorMessage"] = "injected",
                }
                : results[next++]!.DeepClone());
        }

        answer["Records"] = merged;
        answer["FailedRecordCount"] = droppedAt.Count;
        return Json(HttpStatusCode.OK, answer.ToJsonString());
    }

    private static HttpResponseMessage Throttled() =>
        Json(HttpStatusCode.BadRequest, """{"__type":"ProvisionedThroughputExceededException","message":"Rate exceeded for stream (injected)."}""");

    private static HttpResponseMessage Json(HttpStatusCode status, string body) =>
        new(status) { Content = new StringContent(body, Encoding.UTF8, "application/x-amz-json-1.1") };
}
