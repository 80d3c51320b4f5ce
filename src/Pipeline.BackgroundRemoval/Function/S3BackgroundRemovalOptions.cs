using Pipeline.Core.Storage;

namespace Pipeline.BackgroundRemoval.Function;

/// <summary>Immutable, validated settings of <see cref="S3BackgroundRemovalFunction"/>.</summary>
public sealed record S3BackgroundRemovalOptions
{
    /// <summary>Default <see cref="MaxSourceBytes"/>: 50 MiB, far above any phone photo, well under a Lambda's memory.</summary>
    public const long DefaultMaxSourceBytes = 50L * 1024 * 1024;

    /// <summary>
    /// Largest source object accepted, checked against its HEAD before anything is downloaded; a larger one fails
    /// permanently, naming both sizes. Default <see cref="DefaultMaxSourceBytes"/>.
    /// </summary>
    public long MaxSourceBytes
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, Array.MaxLength);
            field = value;
        }
    } = DefaultMaxSourceBytes;

    /// <summary>
    /// Where a job without a destination writes: this prefix plus the source key with its extension replaced by
    /// <c>.png</c> (<c>s3://b/photos/a.jpg</c> → <c>s3://b/cutouts/photos/a.png</c>). Default <c>cutouts/</c>, so
    /// results never land beside (or on) their sources. May be empty; a result that would then be the source
    /// itself (<c>a.png</c> → <c>a.png</c>) fails permanently rather than overwrite it.
    /// </summary>
    public string DefaultDestinationPrefix
    {
        get;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Any(char.IsControl))
            {
                throw new ArgumentException($"prefix '{S3Uri.Show(value)}' contains a control character", nameof(DefaultDestinationPrefix));
            }

            field = value;
        }
    } = "cutouts/";

    /// <summary>The bucket a job without a destination writes to; null (the default) for the source's own bucket.</summary>
    public string? DefaultDestinationBucket
    {
        get;
        init
        {
            if (value is not null && S3Uri.BucketProblem(value) is { } problem)
            {
                throw new ArgumentException($"bucket '{value}' {problem}", nameof(DefaultDestinationBucket));
            }

            field = value;
        }
    }

    /// <summary>
    /// On a host with both S3 and file roots (<see cref="BackgroundRemovalFunction"/> given both functions): the bucket
    /// a job with a local file source and no destination writes to, at <see cref="DefaultDestinationPrefix"/> + the
    /// source's relative path with a <c>.png</c> extension (<c>a/b.jpg</c> → <c>s3://bucket/cutouts/a/b.png</c>).
    /// Null (the default): such jobs write under the output folder, as on a host without S3. It is a separate
    /// setting from <see cref="DefaultDestinationBucket"/> so that a host that already sends S3 results to another
    /// bucket does not start sending local results to S3. The bucket must be on the store's allow-list.
    /// </summary>
    public string? DefaultDestinationBucketForFiles
    {
        get;
        init
        {
            if (value is not null && S3Uri.BucketProblem(value) is { } problem)
            {
                throw new ArgumentException($"bucket '{value}' {problem}", nameof(DefaultDestinationBucketForFiles));
            }

            field = value;
        }
    }
}
