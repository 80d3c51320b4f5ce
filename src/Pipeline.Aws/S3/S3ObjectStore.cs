using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Core.Storage;

namespace Pipeline.Aws.S3;

/// <summary>
/// <see cref="IObjectStore"/> over S3 or an S3-compatible endpoint (<see cref="AwsEndpoint.CreateS3"/>). Every call
/// checks the bucket against <see cref="S3ObjectStoreOptions.AllowedBuckets"/> first. Writes carry the hashed writer
/// tag as user metadata (<c>x-amz-meta-bgpipe-writer</c>), which is how a retry recognises its own earlier write.
/// Thread-safe; one instance serves every lane. Does not own the client.
/// </summary>
public sealed class S3ObjectStore : IObjectStore
{
    /// <summary>The user-metadata name (without <c>x-amz-meta-</c>) that holds the writer tag's hash.</summary>
    public const string WriterMetadata = "bgpipe-writer";

    private readonly IAmazonS3 _s3;
    private readonly S3ObjectStoreOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Lazy<Task<ConditionalWrites>>> _modes = new(StringComparer.Ordinal);

    public S3ObjectStore(IAmazonS3 s3, S3ObjectStoreOptions options, ILogger<S3ObjectStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(s3);
        ArgumentNullException.ThrowIfNull(options);
        _s3 = s3;
        _options = options;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    public S3ObjectStoreOptions Options => _options;

    /// <summary>Throws <see cref="BucketNotAllowedException"/> unless <paramref name="bucket"/> is on the allow-list.</summary>
    public void EnsureAllowed(string bucket)
    {
        if (!_options.Allows(bucket))
        {
            throw new BucketNotAllowedException(
                $"bucket '{S3Uri.Show(bucket)}' is not in the allow-list ({string.Join(", ", _options.AllowedBuckets)})");
        }
    }

    public async ValueTask<ObjectHead?> HeadAsync(S3Uri location, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(location);
        EnsureAllowed(location.Bucket);
        GetObjectMetadataResponse? head = await HeadOrNullAsync(location, $"HEAD '{location}'", cancellationToken).ConfigureAwait(false);
        return head is null ? null : ToHead(location, head);
    }

    public async ValueTask<byte[]> ReadAsync(ObjectHead head, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(head);
        EnsureAllowed(head.Location.Bucket);
        if (head.Size > Array.MaxLength)
        {
            throw new SourceTooLargeException($"'{head.Location}' is {head.Size:N0} bytes, more than one buffer can hold ({Array.MaxLength:N0})");
        }

        var request = new GetObjectRequest
        {
            BucketName = head.Location.Bucket,
            Key = head.Location.Key,
            EtagToMatch = head.ETag,
            VersionId = head.VersionId,
        };
        try
        {
            using GetObjectResponse response = await _s3.GetObjectAsync(request, cancellationToken).ConfigureAwait(false);
            long length = response.ContentLength;
            if (length != head.Size)
            {
                throw new ObjectChangedException($"'{head.Location}' is {length:N0} bytes now, not the {head.Size:N0} its HEAD said; will retry");
            }

            var buffer = new byte[length];
            await response.ResponseStream.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
            return buffer;
        }
        catch (AmazonS3Exception ex) when (S3Errors.IsPreconditionFailed(ex))
        {
            throw new ObjectChangedException($"'{head.Location}' changed since its HEAD (ETag {head.ETag} no longer matches); will retry", ex);
        }
        catch (EndOfStreamException ex)
        {
            throw new StorageUnavailableException($"could not read '{head.Location}': the response ended before {head.Size:N0} bytes; will retry", ex);
        }
        catch (Exception ex) when (S3Errors.Map(ex, $"read '{head.Location}'", cancellationToken) is { } mapped)
        {
            throw mapped;
        }
    }

    public async ValueTask<WriteResult> WriteOnceAsync(S3Uri location, ReadOnlyMemory<byte> content, string contentType, string writerTag, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentException.ThrowIfNullOrEmpty(contentType);
        ArgumentException.ThrowIfNullOrEmpty(writerTag);
        EnsureAllowed(location.Bucket);
        string tag = HashTag(writerTag);
        ConditionalWrites mode = await ModeForAsync(location.Bucket, cancellationToken).ConfigureAwait(false);
        string what = $"write '{location}'";

        if (mode == ConditionalWrites.IfNoneMatch)
        {
            if (await TryPutAsync(location, content, contentType, tag, ifNoneMatch: true, ifMatch: null, what, cancellationToken).ConfigureAwait(false) is { } etag)
            {
                return new WriteResult(WriteOutcome.Written, etag);
            }
        }

        GetObjectMetadataResponse? existing = await HeadOrNullAsync(location, what, cancellationToken).ConfigureAwait(false);
        if (existing is null)
        {
            if (mode == ConditionalWrites.IfNoneMatch)
            {
                // 412 said it existed and now it is gone: someone else is writing or deleting it.
                throw new ObjectChangedException($"'{location}' was deleted while being written; will retry");
            }

            string etag = await PutAsync(location, content, contentType, tag, ifNoneMatch: false, ifMatch: null, what, cancellationToken).ConfigureAwait(false);
            return new WriteResult(WriteOutcome.Written, etag);
        }

        if (string.Equals(existing.Metadata[WriterMetadata], tag, StringComparison.Ordinal))
        {
            S3Log.AlreadyWritten(_logger, location.ToString(), existing.ETag);
            return new WriteResult(WriteOutcome.AlreadyWritten, existing.ETag);
        }

        S3Log.Replacing(_logger, location.ToString(), existing.ETag);
        string? replaceIf = mode == ConditionalWrites.IfNoneMatch ? existing.ETag : null;
        string replaced = await PutAsync(location, content, contentType, tag, ifNoneMatch: false, replaceIf, what, cancellationToken).ConfigureAwait(false);
        return new WriteResult(WriteOutcome.Replaced, replaced);
    }

    public async IAsyncEnumerable<ObjectEntry> ListAsync(string bucket, string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (S3Uri.BucketProblem(bucket) is { } problem)
        {
            throw new InvalidLocationException($"bucket '{S3Uri.Show(bucket ?? string.Empty)}' {problem}");
        }

        ArgumentNullException.ThrowIfNull(prefix);
        EnsureAllowed(bucket);
        string? token = null;
        do
        {
            var request = new ListObjectsV2Request
            {
                BucketName = bucket,
                Prefix = prefix.Length == 0 ? null : prefix,
                MaxKeys = _options.ListPageSize,
                ContinuationToken = token,
            };
            ListObjectsV2Response page;
            try
            {
                page = await _s3.ListObjectsV2Async(request, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (S3Errors.Map(ex, $"list 's3://{bucket}/{prefix}'", cancellationToken) is { } mapped)
            {
                throw mapped;
            }

            foreach (S3Object item in page.S3Objects ?? [])
            {
                yield return new ObjectEntry(bucket, item.Key, item.Size ?? 0, item.ETag);
            }

            token = page.IsTruncated == true ? page.NextContinuationToken : null;
            if (page.IsTruncated == true && string.IsNullOrEmpty(token))
            {
                throw new StorageUnavailableException($"listing 's3://{bucket}/{prefix}' was truncated without a continuation token");
            }
        }
        while (token is not null);
    }

    /// <summary>The mode writes to <paramref name="bucket"/> use: the configured one, or (Auto) the probed one, probed once.</summary>
    public async ValueTask<ConditionalWrites> ModeForAsync(string bucket, CancellationToken cancellationToken)
    {
        if (_options.ConditionalWrites != ConditionalWrites.Auto)
        {
            return _options.ConditionalWrites;
        }

        Lazy<Task<ConditionalWrites>> probe = _modes.GetOrAdd(bucket, b => new Lazy<Task<ConditionalWrites>>(() => ProbeAsync(b, cancellationToken)));
        try
        {
            return await probe.Value.ConfigureAwait(false);
        }
        catch
        {
            // A failed probe (network, cancellation) is not an answer; the next write probes again.
            _modes.TryRemove(new KeyValuePair<string, Lazy<Task<ConditionalWrites>>>(bucket, probe));
            throw;
        }
    }

    private async Task<ConditionalWrites> ProbeAsync(string bucket, CancellationToken cancellationToken)
    {
        string key = $"{_options.ProbePrefix}{Guid.NewGuid():N}";
        var location = new S3Uri(bucket, key);
        string what = $"probe conditional writes with '{location}'";
        ConditionalWrites mode;
        try
        {
            await PutAsync(location, "1"u8.ToArray(), "text/plain", "probe", ifNoneMatch: true, ifMatch: null, what, cancellationToken).ConfigureAwait(false);
            string? second = await TryPutAsync(location, "2"u8.ToArray(), "text/plain", "probe", ifNoneMatch: true, ifMatch: null, what, cancellationToken).ConfigureAwait(false);
            mode = second is null ? ConditionalWrites.IfNoneMatch : ConditionalWrites.HeadFirst;
        }
        catch (ObjectAccessDeniedException ex)
        {
            S3Log.ProbeRefused(_logger, bucket, ex.Message);
            return ConditionalWrites.HeadFirst;
        }

        try
        {
            await _s3.DeleteObjectAsync(bucket, key, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AmazonS3Exception or Amazon.Runtime.AmazonClientException or HttpRequestException or IOException)
        {
            S3Log.ProbeLeft(_logger, bucket, key, ex.Message);
        }

        S3Log.Probed(_logger, bucket, mode);
        return mode;
    }

    /// <summary>Puts; the new ETag, or null when a condition failed (412).</summary>
    private async Task<string?> TryPutAsync(S3Uri location, ReadOnlyMemory<byte> content, string contentType, string tag, bool ifNoneMatch, string? ifMatch, string what, CancellationToken cancellationToken)
    {
        try
        {
            return await PutCoreAsync(location, content, contentType, tag, ifNoneMatch, ifMatch, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception ex) when (S3Errors.IsPreconditionFailed(ex))
        {
            return null;
        }
        catch (Exception ex) when (S3Errors.Map(ex, what, cancellationToken) is { } mapped)
        {
            throw mapped;
        }
    }

    private async Task<string> PutAsync(S3Uri location, ReadOnlyMemory<byte> content, string contentType, string tag, bool ifNoneMatch, string? ifMatch, string what, CancellationToken cancellationToken) =>
        await TryPutAsync(location, content, contentType, tag, ifNoneMatch, ifMatch, what, cancellationToken).ConfigureAwait(false)
        ?? throw new ObjectChangedException($"could not {what}: it changed while being written (412 Precondition Failed); will retry");

    private async Task<string> PutCoreAsync(S3Uri location, ReadOnlyMemory<byte> content, string contentType, string tag, bool ifNoneMatch, string? ifMatch, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream(content.ToArray(), writable: false);
        var request = new PutObjectRequest
        {
            BucketName = location.Bucket,
            Key = location.Key,
            InputStream = body,
            AutoCloseStream = false,
            ContentType = contentType,
            IfNoneMatch = ifNoneMatch ? "*" : null,
            IfMatch = ifMatch,
        };
        request.Metadata[WriterMetadata] = tag;
        PutObjectResponse response = await _s3.PutObjectAsync(request, cancellationToken).ConfigureAwait(false);
        return response.ETag;
    }

    private async Task<GetObjectMetadataResponse?> HeadOrNullAsync(S3Uri location, string what, CancellationToken cancellationToken)
    {
        try
        {
            return await _s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = location.Bucket, Key = location.Key }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (Exception ex) when (S3Errors.Map(ex, what, cancellationToken) is { } mapped)
        {
            throw mapped;
        }
    }

    private static ObjectHead ToHead(S3Uri location, GetObjectMetadataResponse head) =>
        new(location, head.ContentLength, head.ETag, string.IsNullOrEmpty(head.VersionId) || head.VersionId == "null" ? null : head.VersionId,
            head.LastModified is { } modified ? new DateTimeOffset(modified.ToUniversalTime(), TimeSpan.Zero) : null);

    // Metadata must be ASCII and small; a job key may be neither.
    private static string HashTag(string writerTag) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(writerTag)).AsSpan(0, 16));
}
