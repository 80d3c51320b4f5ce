using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace Pipeline.Lambda.Tests.Fakes;

/// <summary>What the function posted for one invocation (or for init).</summary>
internal sealed record RuntimePost(string Kind, string Body, string? ErrorType);

/// <summary>
/// The Lambda Runtime API, served on 127.0.0.1 by HttpListener: hands out queued invocations on
/// <c>GET /2018-06-01/runtime/invocation/next</c> and records what comes back on <c>/response</c>, <c>/error</c> and
/// <c>/init/error</c>.
/// </summary>
internal sealed class FakeRuntimeApi : IAsyncDisposable
{
    public const string FunctionArn = "arn:aws:lambda:us-east-1:123456789012:function:bgpipe-function";

    private readonly HttpListener _listener;
    private readonly Channel<(string Id, byte[] Payload, DateTimeOffset Deadline)> _pending = Channel.CreateUnbounded<(string, byte[], DateTimeOffset)>();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<RuntimePost>> _outcomes = new();
    private readonly TaskCompletionSource<RuntimePost> _initError = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;
    private int _sequence;

    private FakeRuntimeApi(HttpListener listener, int port)
    {
        _listener = listener;
        Host = $"127.0.0.1:{port}";
        _serving = Task.Run(ServeAsync);
    }

    /// <summary>host:port, the value of AWS_LAMBDA_RUNTIME_API.</summary>
    public string Host { get; }

    public Task<RuntimePost> InitError => _initError.Task;

    public int NextCalls => Volatile.Read(ref _nextCalls);

    private int _nextCalls;

    public static FakeRuntimeApi Start()
    {
        for (int attempt = 0; ; attempt++)
        {
            int port = FreePort();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                return new FakeRuntimeApi(listener, port);
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close();
            }
        }
    }

    /// <summary>Queues an invocation; the task completes when the function posts its response or error.</summary>
    public Task<RuntimePost> Invoke(byte[] payload, DateTimeOffset deadline, out string requestId)
    {
        requestId = $"req-{Interlocked.Increment(ref _sequence):D4}-{Guid.NewGuid():N}";
        var outcome = new TaskCompletionSource<RuntimePost>(TaskCreationOptions.RunContinuationsAsynchronously);
        _outcomes[requestId] = outcome;
        _pending.Writer.TryWrite((requestId, payload, deadline));
        return outcome.Task;
    }

    public Task<RuntimePost> Invoke(byte[] payload, DateTimeOffset deadline) => Invoke(payload, deadline, out _);

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (_stop.IsCancellationRequested || !_listener.IsListening)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        HttpListenerRequest request = context.Request;
        HttpListenerResponse response = context.Response;
        try
        {
            string path = request.Url!.AbsolutePath;
            const string Prefix = "/2018-06-01/runtime/";
            if (!path.StartsWith(Prefix, StringComparison.Ordinal))
            {
                response.StatusCode = 404;
                response.Close();
                return;
            }

            string rest = path[Prefix.Length..];
            if (request.HttpMethod == "GET" && rest == "invocation/next")
            {
                Interlocked.Increment(ref _nextCalls);
                (string id, byte[] payload, DateTimeOffset deadline) = await _pending.Reader.ReadAsync(_stop.Token);
                response.Headers["Lambda-Runtime-Aws-Request-Id"] = id;
                response.Headers["Lambda-Runtime-Deadline-Ms"] = deadline.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
                response.Headers["Lambda-Runtime-Invoked-Function-Arn"] = FunctionArn;
                response.Headers["Lambda-Runtime-Trace-Id"] = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1";
                response.ContentType = "application/json";
                await response.OutputStream.WriteAsync(payload);
                response.Close();
                return;
            }

            string body;
            using (var reader = new StreamReader(request.InputStream, Encoding.UTF8))
            {
                body = await reader.ReadToEndAsync();
            }

            string? errorType = request.Headers["Lambda-Runtime-Function-Error-Type"];
            if (request.HttpMethod == "POST" && rest == "init/error")
            {
                _initError.TrySetResult(new RuntimePost("init-error", body, errorType));
                response.StatusCode = 202;
            }
            else if (request.HttpMethod == "POST" && rest.StartsWith("invocation/", StringComparison.Ordinal)
                && rest.Split('/') is [_, string id, string kind and ("response" or "error")]
                && _outcomes.TryGetValue(Uri.UnescapeDataString(id), out TaskCompletionSource<RuntimePost>? outcome))
            {
                outcome.TrySetResult(new RuntimePost(kind, body, errorType));
                response.StatusCode = 202;
            }
            else
            {
                response.StatusCode = 400;
            }

            response.Close();
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
            response.Abort();
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Close();
        await _serving.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }
}
