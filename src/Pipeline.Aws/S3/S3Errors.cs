using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Pipeline.Core.Storage;

namespace Pipeline.Aws.S3;

/// <summary>Sorts S3's failures into the storage exception types: what a retry can fix, and what it cannot.</summary>
internal static class S3Errors
{
    // Codes that a retry can outlive whatever status carries them (S3 sends RequestTimeout as a 400, ExpiredToken as a 400/403).
    private static readonly HashSet<string> TransientCodes = new(StringComparer.Ordinal)
    {
        "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests", "RequestTimeout",
        "RequestTimeTooSkewed", "ExpiredToken", "InternalError", "ServiceUnavailable", "OperationAborted",
        "ConditionalRequestConflict",
    };

    public static bool IsNotFound(AmazonS3Exception ex) =>
        ex.StatusCode == HttpStatusCode.NotFound || ex.ErrorCode is "NoSuchKey" or "NoSuchBucket" or "NotFound" or "NoSuchVersion";

    public static bool IsPreconditionFailed(AmazonS3Exception ex) =>
        ex.StatusCode == HttpStatusCode.PreconditionFailed || ex.ErrorCode == "PreconditionFailed";

    public static bool IsAccessDenied(AmazonS3Exception ex) =>
        ex.StatusCode == HttpStatusCode.Forbidden || ex.ErrorCode is "AccessDenied" or "AllAccessDisabled" or "InvalidAccessKeyId" or "SignatureDoesNotMatch";

    /// <summary>
    /// The storage exception for a failed call. <paramref name="what"/> says what was attempted, e.g.
    /// <c>read source 's3://b/k'</c>. Null when <paramref name="ex"/> is not a failure of the call itself (cancellation).
    /// </summary>
    public static Exception? Map(Exception ex, string what, CancellationToken cancellationToken)
    {
        switch (ex)
        {
            case OperationCanceledException when cancellationToken.IsCancellationRequested:
                return null;
            case AmazonS3Exception s3 when Transient(s3):
                return new StorageUnavailableException($"could not {what}: {Describe(s3)}; will retry", ex);
            case AmazonS3Exception s3 when s3.ErrorCode == "NoSuchBucket":
                return new ObjectNotFoundException($"could not {what}: its bucket does not exist", ex);
            case AmazonS3Exception s3 when IsNotFound(s3):
                return new ObjectNotFoundException($"could not {what}: it does not exist", ex);
            case AmazonS3Exception s3 when IsAccessDenied(s3):
                return new ObjectAccessDeniedException($"could not {what}: access denied ({Describe(s3)})", ex);
            case AmazonS3Exception s3:
                return new ObjectAccessDeniedException($"could not {what}: S3 refused it ({Describe(s3)})", ex);
            case AmazonServiceException service:
                return new StorageUnavailableException($"could not {what}: {service.Message}; will retry", ex);
            case AmazonClientException or HttpRequestException or IOException or TimeoutException or OperationCanceledException:
                return new StorageUnavailableException($"could not {what}: {ex.Message}; will retry", ex);
            default:
                return null;
        }
    }

    private static bool Transient(AmazonS3Exception ex) =>
        (int)ex.StatusCode >= 500
        || ex.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout or HttpStatusCode.Conflict
        || (ex.ErrorCode is { } code && TransientCodes.Contains(code));

    private static string Describe(AmazonS3Exception ex) =>
        $"{(int)ex.StatusCode} {ex.ErrorCode ?? ex.StatusCode.ToString()}{(string.IsNullOrEmpty(ex.Message) ? string.Empty : ": " + ex.Message)}";
}
