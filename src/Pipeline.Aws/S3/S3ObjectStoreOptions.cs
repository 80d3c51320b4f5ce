namespace Pipeline.Aws.S3;

/// <summary>Immutable, validated settings of <see cref="S3ObjectStore"/>.</summary>
public sealed record S3ObjectStoreOptions
{
    /// <summary>
    /// Buckets the store may touch (read, write, list); anything else fails permanently with
    /// <see cref="Pipeline.Core.Storage.BucketNotAllowedException"/>. Required: at least one valid bucket name.
    /// </summary>
    public required IReadOnlyCollection<string> AllowedBuckets
    {
        get;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Count == 0)
            {
                throw new ArgumentException("the bucket allow-list is empty; name at least one bucket", nameof(AllowedBuckets));
            }

            foreach (string bucket in value)
            {
                if (Pipeline.Core.Storage.S3Uri.BucketProblem(bucket) is { } problem)
                {
                    throw new ArgumentException($"allow-list bucket '{bucket}' {problem}", nameof(AllowedBuckets));
                }
            }

            field = [.. value.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>How writes are made conditional. Default <see cref="ConditionalWrites.Auto"/> (probe each bucket once).</summary>
    public ConditionalWrites ConditionalWrites
    {
        get;
        init
        {
            if (!Enum.IsDefined(value))
            {
                throw new ArgumentOutOfRangeException(nameof(ConditionalWrites), value, "expected Auto, IfNoneMatch or HeadFirst");
            }

            field = value;
        }
    } = ConditionalWrites.Auto;

    /// <summary>Where the <see cref="ConditionalWrites.Auto"/> probe writes (and deletes) its scratch object. Default <c>.bgpipe/probe/</c>.</summary>
    public string ProbePrefix
    {
        get;
        init
        {
            ArgumentException.ThrowIfNullOrEmpty(value);
            field = value;
        }
    } = ".bgpipe/probe/";

    /// <summary>Keys per ListObjectsV2 page, 1 to 1,000. Default 1,000 (S3's maximum).</summary>
    public int ListPageSize
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 1000);
            field = value;
        }
    } = 1000;

    /// <summary>Whether <paramref name="bucket"/> is on the allow-list.</summary>
    public bool Allows(string bucket) => AllowedBuckets.Contains(bucket, StringComparer.Ordinal);
}
