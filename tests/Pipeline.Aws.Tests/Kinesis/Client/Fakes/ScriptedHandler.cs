using System.Net;
using System.Text;

namespace Pipeline.Aws.Tests.Kinesis.Client.Fakes;

/// <summary>Answers with canned bodies in turn (the last one repeats) and keeps what was sent, bodies included.</summary>
internal sealed class ScriptedHandler : HttpMessageHandler
{
    private readonly HttpStatusCode _status;
    private readonly string[] _bodies;
    private readonly string _contentType;

    public ScriptedHandler(HttpStatusCode status, string body, string contentType = "application/x-amz-json-1.1")
        : this(status, [body], contentType) { }

    public ScriptedHandler(HttpStatusCode status, params string[] bodies)
        : this(status, bodies, "application/x-amz-json-1.1") { }

    private ScriptedHandler(HttpStatusCode status, string[] bodies, string contentType)
    {
        _status = status;
        _bodies = bodies;
        _contentType = contentType;
    }

    public List<(HttpRequestMessage Request, byte[] Body)> Sent { get; } = [];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var sentBody = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var body = _bodies[Math.Min(Sent.Count, _bodies.Length - 1)];
        Sent.Add((request, sentBody));
        return new HttpResponseMessage(_status) { Content = new StringContent(body, Encoding.UTF8, _contentType) };
    }
}

/// <summary>
/// Passes requests to the real server, except the first <c>count</c> calls of one operation, which it answers with the
/// given error instead (how a test makes an iterator expire without waiting five minutes).
/// </summary>
internal sealed class FaultInjectingHandler(string operation, HttpStatusCode status, string errorType, int count = 1) : DelegatingHandler(new SocketsHttpHandler())
{
    private int _left = count;

    public int Injected { get; private set; }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var target = request.Headers.TryGetValues("X-Amz-Target", out var values) ? values.Single() : string.Empty;
        if (target == "Kinesis_20131202." + operation && Interlocked.Decrement(ref _left) >= 0)
        {
            Injected++;
            var json = $"{{\"__type\":\"{errorType}\",\"message\":\"injected by the test\"}}";
            return Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(json, Encoding.UTF8, "application/x-amz-json-1.1") });
        }

        return base.SendAsync(request, cancellationToken);
    }
}
