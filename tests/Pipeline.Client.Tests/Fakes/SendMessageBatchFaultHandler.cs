using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Amazon.Runtime;

namespace Pipeline.Client.Tests.Fakes;

/// <summary>
/// On the real HTTP path of AWSSDK.SQS (JSON protocol) to the emulator. In the first SendMessageBatch request the entries
/// at every <see cref="DropEvery"/>-th position are taken out before it goes on, so the server never gets them, and are
/// added to the response's <c>Failed</c> list with <see cref="SenderFault"/> and <see cref="Code"/>, as SQS answers an
/// entry it could not take. Later requests pass untouched.
/// </summary>
internal sealed class SendMessageBatchFaultHandler : DelegatingHandler
{
    private const string Target = "AmazonSQS.SendMessageBatch";
    private int _tampered;

    public SendMessageBatchFaultHandler() : base(new SocketsHttpHandler()) { }

    public int DropEvery { get; init; } = 3;

    public bool SenderFault { get; init; }

    public string Code { get; init; } = "InternalError";

    /// <summary>The message bodies answered as failed.</summary>
    public List<string> Dropped { get; } = [];

    public int SendMessageBatchCalls => Volatile.Read(ref _calls);

    private int _calls;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        string target = request.Headers.TryGetValues("X-Amz-Target", out var values) ? values.Single() : "";
        if (target != Target)
        {
            return await base.SendAsync(request, cancellationToken);
        }

        Interlocked.Increment(ref _calls);
        if (Interlocked.Exchange(ref _tampered, 1) == 1)
        {
            return await base.SendAsync(request, cancellationToken);
        }

        MediaTypeHeaderValue? contentType = request.Content!.Headers.ContentType;
        var body = JsonNode.Parse(await request.Content.ReadAsStringAsync(cancellationToken))!.AsObject();
        var entries = body["Entries"]!.AsArray();
        var kept = new JsonArray();
        var failed = new JsonArray();
        for (int i = 0; i < entries.Count; i++)
        {
            JsonNode entry = entries[i]!.DeepClone();
            if ((i + 1) % DropEvery == 0)
            {
                Dropped.Add(entry["MessageBody"]!.GetValue<string>());
                failed.Add(new JsonObject
                {
                    ["Id"] = entry["Id"]!.GetValue<string>(),
                    ["SenderFault"] = SenderFault,
                    ["Code"] = Code,
                    ["Message"] = "injected by the test",
                });
            }
            else
            {
                kept.Add(entry);
            }
        }

        body["Entries"] = kept;
        request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8);
        request.Content.Headers.ContentType = contentType;
        HttpResponseMessage response = await base.SendAsync(request, cancellationToken);
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken))!.AsObject();
        var already = answer["Failed"]?.AsArray();
        foreach (JsonNode? f in failed)
        {
            (already ??= []).Add(f!.DeepClone());
        }

        answer["Failed"] = already;
        MediaTypeHeaderValue? responseType = response.Content.Headers.ContentType;
        response.Content = new StringContent(answer.ToJsonString(), Encoding.UTF8);
        response.Content.Headers.ContentType = responseType;
        return response;
    }
}

/// <summary>Gives AWSSDK clients an HttpClient over one handler (the SDK's own seam for the HTTP stack).</summary>
internal sealed class HandlerHttpClientFactory(HttpMessageHandler handler) : HttpClientFactory
{
    public override HttpClient CreateHttpClient(IClientConfig clientConfig) => new(handler, disposeHandler: false);

    public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;
}
