using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Storage;

namespace Pipeline.BackgroundRemoval.Function;

/// <summary>
/// Routes each job by the schemes of its source and destination: <c>s3://</c> (any case of <c>s3:</c>) is S3, anything
/// else a path under <see cref="FileRoots"/> (local mode only). A host passes the functions it has: an AWS host has no
/// file roots, so local paths fail permanently there; a local host without S3 refuses S3 URIs.
/// </summary>
/// <remarks>
/// With both functions a job may mix the two: a local source with an <c>s3://</c> destination, or an <c>s3://</c>
/// source with a local destination (relative to the output folder). The source side decides the identity (ETag, or
/// length and mtime) and applies its checks; the destination side writes as it always does: once, with
/// <c>image/png</c> and the writer tag <c>{job key}#{source identity}</c>, to an allowed bucket; or atomically under
/// the output folder. A job without a destination writes beside its own kind (S3 under the S3 default prefix, a file
/// under the output folder) unless <see cref="S3BackgroundRemovalOptions.DefaultDestinationBucketForFiles"/> sends
/// local sources to S3. Both sides are checked before the job is claimed, and the source's function logs the call.
/// </remarks>
public sealed class BackgroundRemovalFunction : IJobFunction
{
    private readonly S3BackgroundRemovalFunction? _s3;
    private readonly FileBackgroundRemovalFunction? _files;
    private readonly MixedFunction? _fileToS3;
    private readonly MixedFunction? _s3ToFile;

    public BackgroundRemovalFunction(S3BackgroundRemovalFunction? s3, FileBackgroundRemovalFunction? files)
    {
        if (s3 is null && files is null)
        {
            throw new ArgumentException("give at least one of the S3 and file functions");
        }

        _s3 = s3;
        _files = files;
        if (s3 is not null && files is not null)
        {
            _fileToS3 = new MixedFunction(job => (files.OpenSource(job.Source), s3.OpenDestination(FileToS3Destination(s3, job))), files.Remover, files.CallLog);
            _s3ToFile = new MixedFunction(job => (s3.OpenSource(job.Source), files.OpenDestination(job.Destination!)), s3.Remover, s3.CallLog);
        }
    }

    public ValueTask<string?> GetSourceIdentityAsync(Job job, CancellationToken cancellationToken) =>
        Pick(job).GetSourceIdentityAsync(job, cancellationToken);

    public ValueTask<JobOutput> InvokeAsync(Job job, InvocationContext context, CancellationToken cancellationToken) =>
        Pick(job).InvokeAsync(job, context, cancellationToken);

    private IJobFunction Pick(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        bool? s3Destination = job.Destination is null ? null : S3Uri.IsS3(job.Destination);
        if (S3Uri.IsS3(job.Source))
        {
            if (_s3 is null)
            {
                throw new InvalidLocationException($"source '{S3Uri.Show(job.Source)}' is an S3 URI, but this host has no S3 storage configured");
            }

            if (s3Destination == false)
            {
                return _s3ToFile ?? throw new InvalidLocationException(
                    $"destination '{S3Uri.Show(job.Destination!)}' must be an s3:// URI when the source is one ('{S3Uri.Show(job.Source)}')");
            }

            return _s3;
        }

        if (_files is null)
        {
            throw new InvalidLocationException($"source '{S3Uri.Show(job.Source)}' is not an s3:// URI; local file paths are accepted in local mode only");
        }

        if (s3Destination == true)
        {
            return _fileToS3 ?? throw new InvalidLocationException(
                $"destination '{S3Uri.Show(job.Destination!)}' is an S3 URI, but this host has no S3 storage configured; use a local destination");
        }

        return s3Destination is null && _s3?.Options.DefaultDestinationBucketForFiles is not null ? _fileToS3! : _files;
    }

    private static S3Uri FileToS3Destination(S3BackgroundRemovalFunction s3, Job job) =>
        job.Destination is { } destination
            ? S3BackgroundRemovalFunction.ParseDestination(destination)
            : s3.DefaultDestinationForFile(job.Source)
                ?? throw new InvalidOperationException("a local source without destination is routed to S3 only when DefaultDestinationBucketForFiles is set");

    /// <summary>A job whose source and destination are of different kinds, run from the two sides the functions open.</summary>
    private sealed class MixedFunction(Func<Job, (IJobSource Source, IJobDestination Destination)> open, BackgroundRemover remover, IFunctionCallLog? callLog) : IJobFunction
    {
        // Opening checks both sides, so a bad destination fails here, before the job is claimed.
        public async ValueTask<string?> GetSourceIdentityAsync(Job job, CancellationToken cancellationToken) =>
            await open(job).Source.IdentityAsync(cancellationToken).ConfigureAwait(false);

        public async ValueTask<JobOutput> InvokeAsync(Job job, InvocationContext context, CancellationToken cancellationToken)
        {
            callLog?.Started(context.IdempotencyKey, job.Source);
            cancellationToken.ThrowIfCancellationRequested();

            (IJobSource source, IJobDestination destination) = open(job);
            RemovalRequest request = JobRemoval.Request(job);
            return await JobRemoval.RunAsync(remover, job, request, source, destination, context.IdempotencyKey, cancellationToken).ConfigureAwait(false);
        }
    }
}
