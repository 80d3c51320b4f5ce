using Pipeline.BackgroundRemoval.Imaging;
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
        RemovalRequest request = Request(job);
        ObjectHead head = await HeadSourceAsync(source, cancellationToken).ConfigureAwait(false);
        EnsureSameSource(context.IdempotencyKey, head);
        byte[] encoded = await _store.ReadAsync(head, cancellationToken).ConfigureAwait(false);

        RemovalResult result;
        try
        {
            result = _remover.Remove(encoded, request, source.ToString());
        }
        catch (ImageRejectedException ex)
        {
            throw new PermanentJobException(ex.Message, ex);
        }

        cancellationToken.ThrowIfCancellationRequested();
        string writer = string.Concat(job.Key, "#", head.Identity);
        await _store.WriteOnceAsync(destination, result.Png, PngContentType, writer, cancellationToken).ConfigureAwait(false);
        return new JobOutput(destination.ToString());
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

    /// <summary>The source and destination of a job, checked: well-formed, allowed, not a folder, not the same object.</summary>
    public (S3Uri Source, S3Uri Destination) Locations(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        S3Uri source = S3Uri.Parse(job.Source, "source");
        if (source.Key.EndsWith('/'))
        {
            throw new InvalidLocationException($"source '{S3Uri.Show(job.Source)}' names a folder (its key ends with '/'), not an object");
        }

        S3Uri destination = job.Destination is null ? DefaultDestination(source) : S3Uri.Parse(job.Destination, "destination");
        if (destination.Key.EndsWith('/'))
        {
            throw new InvalidLocationException($"destination '{destination}' names a folder (its key ends with '/'), not an object");
        }

        _store.EnsureAllowed(source.Bucket);
        _store.EnsureAllowed(destination.Bucket);
        if (destination == source)
        {
            throw new InvalidLocationException($"destination '{destination}' is the source itself; it would be overwritten");
        }

        return (source, destination);
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

    private static RemovalRequest Request(Job job)
    {
        if (job.Background is { } background && !JsonJobDecoder.IsHexColour(background))
        {
            throw new PermanentJobException($"background '{S3Uri.Show(background)}' must be a colour as #RRGGBB");
        }

        return new RemovalRequest(job.Output, job.Background);
    }
}
