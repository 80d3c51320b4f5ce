namespace Pipeline.Core.Storage;

/// <summary>
/// The object storage a function reads sources from and writes results to (S3 or an S3-compatible endpoint).
/// Failures are typed: <see cref="ObjectNotFoundException"/>, <see cref="ObjectAccessDeniedException"/>,
/// <see cref="BucketNotAllowedException"/> and <see cref="InvalidLocationException"/> are permanent;
/// <see cref="ObjectChangedException"/> and <see cref="StorageUnavailableException"/> are transient.
/// </summary>
public interface IObjectStore
{
    /// <summary>Throws <see cref="BucketNotAllowedException"/> unless this store may touch <paramref name="bucket"/>.</summary>
    void EnsureAllowed(string bucket);

    /// <summary>The object's size, ETag and version, or null when it does not exist.</summary>
    ValueTask<ObjectHead?> HeadAsync(S3Uri location, CancellationToken cancellationToken);

    /// <summary>
    /// The object's bytes, exactly as <paramref name="head"/> described it: the read is conditional on its ETag (and
    /// pinned to its version when it has one), so an object rewritten since the HEAD throws <see cref="ObjectChangedException"/>.
    /// </summary>
    ValueTask<byte[]> ReadAsync(ObjectHead head, CancellationToken cancellationToken);

    /// <summary>
    /// Writes <paramref name="content"/> unless the object exists already. An existing object that was written for
    /// the same <paramref name="writerTag"/> (a previous attempt of the same job) is kept and reported as
    /// <see cref="WriteOutcome.AlreadyWritten"/>, so a retry never writes twice; one written for another tag (another
    /// job, or the same job before its source changed) is replaced.
    /// </summary>
    ValueTask<WriteResult> WriteOnceAsync(S3Uri location, ReadOnlyMemory<byte> content, string contentType, string writerTag, CancellationToken cancellationToken);

    /// <summary>Every object under <paramref name="prefix"/> in key order, page after page (past S3's 1,000 per page).</summary>
    IAsyncEnumerable<ObjectEntry> ListAsync(string bucket, string prefix, CancellationToken cancellationToken);
}

/// <summary>What a HEAD says about an object.</summary>
public sealed record ObjectHead(S3Uri Location, long Size, string ETag, string? VersionId, DateTimeOffset? LastModified)
{
    /// <summary>
    /// The identity folded into the idempotency key: <c>s3:{etag}</c>, plus <c>@{versionId}</c> on a versioned
    /// bucket, so a rewritten object starts a fresh job.
    /// </summary>
    public string Identity => VersionId is null ? $"s3:{ETag}" : $"s3:{ETag}@{VersionId}";
}

/// <summary>One object of a listing.</summary>
public readonly record struct ObjectEntry(string Bucket, string Key, long Size, string? ETag)
{
    public S3Uri Location => new(Bucket, Key);
}

public enum WriteOutcome
{
    /// <summary>The object did not exist and was written.</summary>
    Written,

    /// <summary>A previous attempt with the same writer tag wrote it; nothing was written.</summary>
    AlreadyWritten,

    /// <summary>It existed, written for another tag (another job, or an older source), and was replaced.</summary>
    Replaced,
}

/// <summary>The outcome of <see cref="IObjectStore.WriteOnceAsync"/> and the ETag of the object now there.</summary>
public readonly record struct WriteResult(WriteOutcome Outcome, string? ETag);
