using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Storage;

namespace Pipeline.BackgroundRemoval.Function;

/// <summary>
/// The background-removal function for <c>s3://bucket/key</c> jobs. For each job: check both buckets against the
/// store's allow-list; HEAD the source (missing → permanent, over <see cref="S3BackgroundRemovalOptions.MaxSourceBytes"/>
/// → permanent, naming both sizes); GET it conditionally on that HEAD's ETag (changed in between → transient); remove
/// the background; write the PNG (<c>image/png</c>) once. The write is tagged with the job's key and source identity,
/// so a retry after a crash finds its own result and writes nothing, while a changed source replaces the old result.
/// <see cref="BackgroundRemovalFunction"/> also uses either side alone, for jobs that mix S3 with local files.
/// </summary>
public sealed class S3BackgroundRemovalFunction : IJobFunction
{
    /// <summary>The content type of every result.</summary>
    public const string PngContentType = "image/png";

    private readonly IObjectStore _store;
    private readonly BackgroundRemover _remover;
    private readonly S3BackgroundRemovalOptions _options;
    private readonly IFunctionCallLog? _callLog;

    public S3BackgroundRemovalFunction(IObjectStore store, BackgroundRemover remover, S3BackgroundRemovalOptions? options = null, IFunctionCallLog? callLog = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(remover);
        _store = store;
        _remover = remover;
        _options = options ?? new S3BackgroundRemovalOptions();
        _callLog = callLog;
    }

    public S3BackgroundRemovalOptions Options => _options;

    /// <summary>
    /// <c>s3:{ETag}</c>, plus <c>@{VersionId}</c> on a versioned bucket (see <see cref="ObjectHead.Identity"/>). Bad
    /// locations, buckets off the allow-list, a missing or oversized source fail here, before the job is claimed.
    /// </summary>
    public async ValueTask<string?> GetSourceIdentityAsync(Job job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        (S3Uri source, _) = Locations(job);
        ObjectHead head = await HeadSourceAsync(source, cancellationToken).ConfigureAwait(false);
        return head.Identity;
    }

    /// <summary>Writes the result and returns its <c>s3://</c> URI (also when a previous attempt had written it).</summary>
    public async ValueTask<JobOutput> InvokeAsync(Job job, InvocationContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        _callLog?.Started(context.IdempotencyKey, job.Source);
        cancellationToken.ThrowIfCancellationRequested();

        (S3Uri source, S3Uri destination) = Locations(job);
        RemovalRequest request = JobRemoval.Request(job);
        return await JobRemoval.RunAsync(
            _remover, job, request, new S3Source(this, source), new S3Destination(_store, destination), context.IdempotencyKey, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Where a job without a destination writes: <see cref="S3BackgroundRemovalOptions.DefaultDestinationBucket"/> (or the
    /// source's bucket) and <see cref="S3BackgroundRemovalOptions.DefaultDestinationPrefix"/> + the source key with a
    /// <c>.png</c> extension.
    /// </summary>
    public S3Uri DefaultDestination(S3Uri source)
    {
        ArgumentNullException.ThrowIfNull(source);
        string key = _options.DefaultDestinationPrefix + WithPngExtension(source.Key);
        if (S3Uri.KeyProblem(key) is { } problem)
        {
            throw new InvalidLocationException($"default destination for source '{source}' has a bad key: {problem}");
        }

        return new S3Uri(_options.DefaultDestinationBucket ?? source.Bucket, key);
    }

    /// <summary>
    /// Where a job with a local file source and no destination writes, on a host configured with
    /// <see cref="S3BackgroundRemovalOptions.DefaultDestinationBucketForFiles"/>: that bucket, at
    /// <see cref="S3BackgroundRemovalOptions.DefaultDestinationPrefix"/> + the source's path relative to the input
    /// folder with a <c>.png</c> extension (<c>a/b.jpg</c> → <c>s3://bucket/cutouts/a/b.png</c>). Null when that
    /// option is not set: such jobs stay local.
    /// </summary>
    public S3Uri? DefaultDestinationForFile(string jobSource)
    {
        ArgumentNullException.ThrowIfNull(jobSource);
        if (_options.DefaultDestinationBucketForFiles is not { } bucket)
        {
            return null;
        }

        // Lexically, as the job names it ("./a/../b.jpg" → "b.jpg"): the file roots have already refused a path that leaves the folder.
        var parts = new List<string>();
        foreach (string part in RealPath.Split(jobSource))
        {
            if (part == "..")
            {
                if (parts.Count == 0)
                {
                    throw new InvalidLocationException($"default destination for source '{S3Uri.Show(jobSource)}' cannot be made from its path: it climbs above the input folder by '..'; give the job a destination");
                }

                parts.RemoveAt(parts.Count - 1);
            }
            else if (part != ".")
            {
                parts.Add(part);
            }
        }

        if (parts.Count == 0)
        {
            throw new InvalidLocationException($"default destination for source '{S3Uri.Show(jobSource)}' cannot be made from its path: it names no file");
        }

        string key = _options.DefaultDestinationPrefix + WithPngExtension(string.Join('/', parts));
        if (S3Uri.KeyProblem(key) is { } problem)
        {
            throw new InvalidLocationException($"default destination for source '{S3Uri.Show(jobSource)}' has a bad key: {problem}");
        }

        return new S3Uri(bucket, key);
    }

    /// <summary>The source and destination of a job, checked: well-formed, allowed, not a folder, not the same object.</summary>
    public (S3Uri Source, S3Uri Destination) Locations(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        S3Uri source = ParseSource(job.Source);
        S3Uri destination = job.Destination is null ? DefaultDestination(source) : ParseDestination(job.Destination);
        EnsureObject(destination);
        _store.EnsureAllowed(source.Bucket);
        _store.EnsureAllowed(destination.Bucket);
        if (destination == source)
        {
            throw new InvalidLocationException($"destination '{destination}' is the source itself; it would be overwritten");
        }

        return (source, destination);
    }

    internal BackgroundRemover Remover => _remover;

    internal IFunctionCallLog? CallLog => _callLog;

    /// <summary>The source side of a job that writes elsewhere (a local file): checked and allowed, not yet read.</summary>
    internal IJobSource OpenSource(string jobSource)
    {
        S3Uri source = ParseSource(jobSource);
        _store.EnsureAllowed(source.Bucket);
        return new S3Source(this, source);
    }

    /// <summary>The destination side of a job that reads elsewhere (a local file): checked and allowed, not yet written.</summary>
    internal IJobDestination OpenDestination(S3Uri destination)
    {
        EnsureObject(destination);
        _store.EnsureAllowed(destination.Bucket);
        return new S3Destination(_store, destination);
    }

    internal static S3Uri ParseDestination(string jobDestination) => S3Uri.Parse(jobDestination, "destination");

    private static void EnsureObject(S3Uri destination)
    {
        if (destination.Key.EndsWith('/'))
        {
            throw new InvalidLocationException($"destination '{destination}' names a folder (its key ends with '/'), not an object");
        }
    }

    private static S3Uri ParseSource(string jobSource)
    {
        S3Uri source = S3Uri.Parse(jobSource, "source");
        if (source.Key.EndsWith('/'))
        {
            throw new InvalidLocationException($"source '{S3Uri.Show(jobSource)}' names a folder (its key ends with '/'), not an object");
        }

        return source;
    }

    private async ValueTask<ObjectHead> HeadSourceAsync(S3Uri source, CancellationToken cancellationToken)
    {
        ObjectHead head = await _store.HeadAsync(source, cancellationToken).ConfigureAwait(false)
            ?? throw new ObjectNotFoundException($"source '{source}' does not exist");
        if (head.Size > _options.MaxSourceBytes)
        {
            throw new SourceTooLargeException($"source '{source}' is {head.Size:N0} bytes, over the limit of {_options.MaxSourceBytes:N0} bytes");
        }

        return head;
    }

    // The invoker keys the claim as "{job key}#{identity}". If the source changed after that identity was read, this
    // attempt would store a new result under the old key; fail it as transient so the retry claims the new identity.
    private static void EnsureSameSource(string idempotencyKey, ObjectHead head)
    {
        int hash = idempotencyKey.LastIndexOf("#s3:", StringComparison.Ordinal);
        if (hash >= 0 && !idempotencyKey.AsSpan(hash + 1).SequenceEqual(head.Identity))
        {
            throw new ObjectChangedException(
                $"source '{head.Location}' changed since this attempt was claimed (now {head.Identity}, claimed as {idempotencyKey[(hash + 1)..]}); will retry");
        }
    }

    private static string WithPngExtension(string key)
    {
        int name = key.LastIndexOf('/') + 1;
        int dot = key.LastIndexOf('.');
        return dot > name ? string.Concat(key.AsSpan(0, dot), ".png") : key + ".png";
    }

    private sealed class S3Source(S3BackgroundRemovalFunction function, S3Uri location) : IJobSource
    {
        public string Name => location.ToString();

        public async ValueTask<string> IdentityAsync(CancellationToken cancellationToken) =>
            (await function.HeadSourceAsync(location, cancellationToken).ConfigureAwait(false)).Identity;

        public async ValueTask<SourceContent> ReadAsync(string idempotencyKey, CancellationToken cancellationToken)
        {
            ObjectHead head = await function.HeadSourceAsync(location, cancellationToken).ConfigureAwait(false);
            EnsureSameSource(idempotencyKey, head);
            byte[] bytes = await function._store.ReadAsync(head, cancellationToken).ConfigureAwait(false);
            return new SourceContent(bytes, head.Identity);
        }
    }

    private sealed class S3Destination(IObjectStore store, S3Uri location) : IJobDestination
    {
        public async ValueTask<string> WriteAsync(byte[] png, string writerTag, CancellationToken cancellationToken)
        {
            await store.WriteOnceAsync(location, png, PngContentType, writerTag, cancellationToken).ConfigureAwait(false);
            return location.ToString();
        }
    }
}
