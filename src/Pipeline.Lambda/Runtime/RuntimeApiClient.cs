using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Pipeline.Lambda.Events;

namespace Pipeline.Lambda.Runtime;

/// <summary>
/// The Lambda Runtime API over HTTP (<c>http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/...</c>): next invocation,
/// response, invocation error, init error. Stands in for <c>Amazon.Lambda.RuntimeSupport.RuntimeApiClient</c>
/// (package Amazon.Lambda.RuntimeSupport).
/// </summary>
public sealed class RuntimeApiClient : IDisposable
{
    public const string EnvironmentVariable = "AWS_LAMBDA_RUNTIME_API";
    public const string RequestIdHeader = "Lambda-Runtime-Aws-Request-Id";
    public const string DeadlineHeader = "Lambda-Runtime-Deadline-Ms";
    public const string FunctionArnHeader = "Lambda-Runtime-Invoked-Function-Arn";
    public const string TraceIdHeader = "Lambda-Runtime-Trace-Id";
    public const string ErrorTypeHeader = "Lambda-Runtime-Function-Error-Type";

    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private readonly HttpClient _http;

    /// <param name="host">host:port as AWS_LAMBDA_RUNTIME_API gives it (e.g. 127.0.0.1:9001).</param>
    public RuntimeApiClient(string host)
    {
        if (string.IsNullOrWhiteSpace(host) || !Uri.TryCreate($"http://{host}/2018-06-01/runtime/", UriKind.Absolute, out Uri? baseUri))
        {
            throw new RuntimeApiException($"{EnvironmentVariable} '{host}' is not a host:port; the bootstrap must run inside Lambda or beside a Runtime API emulator");
        }

        // The next-invocation call blocks until an event arrives, which may be hours on an idle function.
        _http = new HttpClient { BaseAddress = baseUri, Timeout = Timeout.InfiniteTimeSpan };
    }

    public Uri BaseAddress => _http.BaseAddress!;

    /// <summary>Reads <see cref="EnvironmentVariable"/>; a missing value is a <see cref="RuntimeApiException"/>.</summary>
    public static RuntimeApiClient FromEnvironment(Func<string, string?> getEnv)
    {
        ArgumentNullException.ThrowIfNull(getEnv);
        string? host = getEnv(EnvironmentVariable);
        return string.IsNullOrWhiteSpace(host)
            ? throw new RuntimeApiException($"{EnvironmentVariable} is not set; the bootstrap must run inside Lambda (provided.al2023) or beside a Runtime API emulator")
            : new RuntimeApiClient(host);
    }

    /// <summary><c>GET invocation/next</c>: waits for the next event.</summary>
    public async Task<InvocationRequest> GetNextInvocationAsync(CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await _http.GetAsync(new Uri("invocation/next", UriKind.Relative), cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, "invocation/next", cancellationToken).ConfigureAwait(false);
        string requestId = Header(response, RequestIdHeader)
            ?? throw new RuntimeApiException($"invocation/next answered without the {RequestIdHeader} header");
        string? deadlineText = Header(response, DeadlineHeader);
        if (!long.TryParse(deadlineText, NumberStyles.None, CultureInfo.InvariantCulture, out long deadlineMs))
        {
            throw new RuntimeApiException($"invocation/next answered request {requestId} with {DeadlineHeader} '{deadlineText}', which is not epoch milliseconds");
        }

        byte[] payload = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        return new InvocationRequest
        {
            RequestId = requestId,
            Deadline = DateTimeOffset.FromUnixTimeMilliseconds(deadlineMs),
            InvokedFunctionArn = Header(response, FunctionArnHeader),
            TraceId = Header(response, TraceIdHeader),
            Payload = payload,
        };
    }

    /// <summary><c>POST invocation/{id}/response</c> with the JSON result.</summary>
    public Task SendResponseAsync(string requestId, ReadOnlyMemory<byte> json, CancellationToken cancellationToken) =>
        PostAsync($"invocation/{Uri.EscapeDataString(requestId)}/response", json, errorType: null, cancellationToken);

    /// <summary><c>POST invocation/{id}/error</c>: the whole invocation failed (Lambda retries the whole batch).</summary>
    public Task SendInvocationErrorAsync(string requestId, RuntimeErrorBody error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(error);
        return PostAsync($"invocation/{Uri.EscapeDataString(requestId)}/error", Serialize(error), error.ErrorType, cancellationToken);
    }

    /// <summary><c>POST init/error</c>: the function cannot start; Lambda reports it and starts a new environment later.</summary>
    public Task SendInitErrorAsync(RuntimeErrorBody error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(error);
        return PostAsync("init/error", Serialize(error), error.ErrorType, cancellationToken);
    }

    public void Dispose() => _http.Dispose();

    private static byte[] Serialize(RuntimeErrorBody error) => JsonSerializer.SerializeToUtf8Bytes(error, LambdaJsonContext.Default.RuntimeErrorBody);

    private async Task PostAsync(string path, ReadOnlyMemory<byte> body, string? errorType, CancellationToken cancellationToken)
    {
        using var content = new ReadOnlyMemoryContent(body);
        content.Headers.ContentType = Json;
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = content };
        if (errorType is not null)
        {
            request.Headers.TryAddWithoutValidation(ErrorTypeHeader, errorType);
        }

        using HttpResponseMessage response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, path, cancellationToken).ConfigureAwait(false);
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string path, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        string body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        throw new RuntimeApiException($"Runtime API {path} answered {(int)response.StatusCode} {response.ReasonPhrase}: {body}");
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out IEnumerable<string>? values) ? values.FirstOrDefault() : null;
}

/// <summary>The Runtime API is missing or answered something unusable; the message names the call and the answer.</summary>
public sealed class RuntimeApiException : Exception
{
    public RuntimeApiException(string message) : base(message) { }

    public RuntimeApiException(string message, Exception inner) : base(message, inner) { }

    public RuntimeApiException() { }
}
