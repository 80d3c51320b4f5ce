using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;

namespace Pipeline.Aws.Kinesis.Client;

/// <summary>
/// Kinesis over its AWS JSON 1.1 protocol: every operation is <c>POST /</c> with
/// <c>X-Amz-Target: Kinesis_20131202.&lt;Operation&gt;</c>, a JSON body, and a SigV4 signature for service
/// <c>kinesis</c>. Credentials come from AWSSDK.Core (the endpoint's, or the SDK's default chain for AWS itself).
/// Stands in for AWSSDK.Kinesis's AmazonKinesisClient (see <see cref="IKinesisClient"/>).
/// </summary>
public sealed class KinesisClient : IKinesisClient, IDisposable
{
    public const string ServiceName = "kinesis";
    public const string TargetPrefix = "Kinesis_20131202.";
    public const string ContentType = "application/x-amz-json-1.1";

    /// <summary>Default per-request timeout: GetRecords answers within seconds, so 30 s means a stuck connection.</summary>
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http;
    private readonly Uri _url;
    private readonly string _region;
    private readonly AWSCredentials? _credentials;
    private readonly TimeProvider _time;

    /// <param name="endpoint">Where to go; <see cref="AwsEndpoint.Aws"/> means https://kinesis.{region}.amazonaws.com.</param>
    /// <param name="handler">
    /// The HTTP pipeline to send through (tests put a <see cref="DelegatingHandler"/> here to inject faults); the client
    /// does not dispose it. Null uses a fresh <see cref="SocketsHttpHandler"/> that the client owns.
    /// </param>
    /// <param name="timeProvider">The clock that dates signatures (defaults to the system's).</param>
    /// <param name="requestTimeout">Per-request timeout; defaults to <see cref="DefaultRequestTimeout"/>.</param>
    public KinesisClient(AwsEndpoint endpoint, HttpMessageHandler? handler = null, TimeProvider? timeProvider = null, TimeSpan? requestTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var timeout = requestTimeout ?? DefaultRequestTimeout;
        if (timeout <= TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(requestTimeout), requestTimeout, "The request timeout must be positive.");
        }

        _region = endpoint.Region
            ?? FallbackRegionFactory.GetRegionEndpoint()?.SystemName
            ?? throw new InvalidOperationException("No AWS region for Kinesis: set AWS_REGION or a profile region.");
        _url = endpoint.ServiceUrl ?? new Uri($"https://kinesis.{_region}.amazonaws.com/");
        _credentials = endpoint.Credentials;
        _time = timeProvider ?? TimeProvider.System;
        _http = handler is null
            ? new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }, disposeHandler: true)
            : new HttpClient(handler, disposeHandler: false);
        _http.Timeout = timeout;
    }

    /// <summary>The URL requests are posted to.</summary>
    public Uri Url => _url;

    public Task CreateStreamAsync(CreateStreamRequest request, CancellationToken cancellationToken = default) =>
        SendAsync("CreateStream", request, KinesisJson.Default.CreateStreamRequest, cancellationToken);

    public Task DeleteStreamAsync(DeleteStreamRequest request, CancellationToken cancellationToken = default) =>
        SendAsync("DeleteStream", request, KinesisJson.Default.DeleteStreamRequest, cancellationToken);

    public Task<DescribeStreamSummaryResponse> DescribeStreamSummaryAsync(DescribeStreamSummaryRequest request, CancellationToken cancellationToken = default) =>
        SendAsync("DescribeStreamSummary", request, KinesisJson.Default.DescribeStreamSummaryRequest, KinesisJson.Default.DescribeStreamSummaryResponse, cancellationToken);

    public Task<ListShardsResponse> ListShardsAsync(ListShardsRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Both together is left to the server: AWS and kinesalite refuse it, but moto 5.2.1 needs StreamName on every page.
        if (request.StreamName is null && request.NextToken is null)
        {
            throw new ArgumentException("ListShards needs a StreamName (first page) or a NextToken (later pages).", nameof(request));
        }

        return SendAsync("ListShards", request, KinesisJson.Default.ListShardsRequest, KinesisJson.Default.ListShardsResponse, cancellationToken);
    }

    public Task<GetShardIteratorResponse> GetShardIteratorAsync(GetShardIteratorRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var needsSequence = request.ShardIteratorType is ShardIteratorType.AtSequenceNumber or ShardIteratorType.AfterSequenceNumber;
        if (needsSequence && string.IsNullOrEmpty(request.StartingSequenceNumber))
        {
            throw new ArgumentException($"ShardIteratorType {request.ShardIteratorType} needs a StartingSequenceNumber.", nameof(request));
        }

        if (request.ShardIteratorType == ShardIteratorType.AtTimestamp && request.Timestamp is null)
        {
            throw new ArgumentException("ShardIteratorType AtTimestamp needs a Timestamp.", nameof(request));
        }

        return SendAsync("GetShardIterator", request, KinesisJson.Default.GetShardIteratorRequest, KinesisJson.Default.GetShardIteratorResponse, cancellationToken);
    }

    public Task<GetRecordsResponse> GetRecordsAsync(GetRecordsRequest request, CancellationToken cancellationToken = default) =>
        SendAsync("GetRecords", request, KinesisJson.Default.GetRecordsRequest, KinesisJson.Default.GetRecordsResponse, cancellationToken);

    public Task<PutRecordsResponse> PutRecordsAsync(PutRecordsRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Records is null || request.Records.Count is 0 or > 500)
        {
            throw new ArgumentException($"PutRecords takes 1 to 500 records, got {request.Records?.Count ?? 0}.", nameof(request));
        }

        return SendAsync("PutRecords", request, KinesisJson.Default.PutRecordsRequest, KinesisJson.Default.PutRecordsResponse, cancellationToken);
    }

    public Task SplitShardAsync(SplitShardRequest request, CancellationToken cancellationToken = default) =>
        SendAsync("SplitShard", request, KinesisJson.Default.SplitShardRequest, cancellationToken);

    public Task MergeShardsAsync(MergeShardsRequest request, CancellationToken cancellationToken = default) =>
        SendAsync("MergeShards", request, KinesisJson.Default.MergeShardsRequest, cancellationToken);

    public void Dispose() => _http.Dispose();

    private async Task SendAsync<TRequest>(string operation, TRequest request, JsonTypeInfo<TRequest> requestInfo, CancellationToken cancellationToken)
    {
        using var response = await PostAsync(operation, request, requestInfo, cancellationToken).ConfigureAwait(false);
    }

    private async Task<TResponse> SendAsync<TRequest, TResponse>(
        string operation, TRequest request, JsonTypeInfo<TRequest> requestInfo, JsonTypeInfo<TResponse> responseInfo, CancellationToken cancellationToken)
    {
        using var response = await PostAsync(operation, request, requestInfo, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return JsonSerializer.Deserialize(body, responseInfo)
                ?? throw new KinesisServiceException($"Kinesis {operation} answered an empty body.", response.StatusCode, "EmptyResponse");
        }
        catch (JsonException ex)
        {
            throw new KinesisServiceException($"Kinesis {operation} answered JSON that does not fit {typeof(TResponse).Name}: {ex.Message}", response.StatusCode, "MalformedResponse", ex);
        }
    }

    private async Task<HttpResponseMessage> PostAsync<TRequest>(string operation, TRequest request, JsonTypeInfo<TRequest> requestInfo, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var payload = JsonSerializer.SerializeToUtf8Bytes(request, requestInfo);
        var credentials = await ResolveCredentialsAsync().ConfigureAwait(false);
        var at = _time.GetUtcNow();
        var target = TargetPrefix + operation;

        var headers = new List<KeyValuePair<string, string>>
        {
            new("content-type", ContentType),
            new("host", _url.IsDefaultPort ? _url.Host : _url.Authority),
            new("x-amz-date", SigV4Signer.FormatDate(at)),
            new("x-amz-target", target),
        };
        if (credentials.UseToken)
        {
            headers.Add(new("x-amz-security-token", credentials.Token));
        }

        var authorization = SigV4Signer.Authorization("POST", _url, headers, payload, credentials.AccessKey, credentials.SecretKey, _region, ServiceName, at);

        using var message = new HttpRequestMessage(HttpMethod.Post, _url);
        message.Content = new ByteArrayContent(payload);
        message.Content.Headers.ContentType = new MediaTypeHeaderValue(ContentType);
        message.Headers.TryAddWithoutValidation("X-Amz-Date", SigV4Signer.FormatDate(at));
        message.Headers.TryAddWithoutValidation("X-Amz-Target", target);
        message.Headers.TryAddWithoutValidation("Authorization", authorization);
        if (credentials.UseToken)
        {
            message.Headers.TryAddWithoutValidation("X-Amz-Security-Token", credentials.Token);
        }

        var response = await _http.SendAsync(message, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw KinesisErrors.FromResponse(operation, response.StatusCode, body);
        }
    }

    private async Task<ImmutableCredentials> ResolveCredentialsAsync()
    {
        var source = _credentials ?? DefaultAWSCredentialsIdentityResolver.GetCredentials();
        return await source.GetCredentialsAsync().ConfigureAwait(false)
            ?? throw new InvalidOperationException("The AWS credentials chain resolved no credentials for Kinesis.");
    }
}

/// <summary>Turns an error answer into the exception type callers act on.</summary>
internal static class KinesisErrors
{
    public static KinesisServiceException FromResponse(string operation, HttpStatusCode status, string body)
    {
        KinesisErrorBody? error = null;
        try
        {
            error = string.IsNullOrWhiteSpace(body) ? null : JsonSerializer.Deserialize(body, KinesisJson.Default.KinesisErrorBody);
        }
        catch (JsonException)
        {
            // Not JSON (an emulator's HTML 500 page, a proxy's answer): the status and raw body still say what happened.
        }

        var rawType = error?.Type ?? string.Empty;
        var type = rawType[(rawType.LastIndexOf('#') + 1)..];
        var detail = error?.Message ?? error?.MessageCapitalised ?? Truncate(body);
        var message = $"Kinesis {operation} failed with {(int)status} {(type.Length > 0 ? type : status.ToString())}: {detail}";
        return type switch
        {
            "ProvisionedThroughputExceededException" => new KinesisThroughputExceededException(message, status, type),
            "ExpiredIteratorException" => new KinesisExpiredIteratorException(message, status, type),
            "ResourceNotFoundException" => new KinesisResourceNotFoundException(message, status, type),
            "ResourceInUseException" => new KinesisResourceInUseException(message, status, type),
            "InvalidArgumentException" or "ValidationException" or "SerializationException" => new KinesisInvalidArgumentException(message, status, type),
            "LimitExceededException" => new KinesisLimitExceededException(message, status, type),
            _ when (int)status >= 500 => new KinesisTransientException(message, status, type),
            _ => new KinesisServiceException(message, status, type),
        };
    }

    private static string Truncate(string body) => body.Length <= 300 ? body : body[..300] + "…";
}
