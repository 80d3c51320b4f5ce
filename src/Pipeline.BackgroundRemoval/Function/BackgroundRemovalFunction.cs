using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Storage;

namespace Pipeline.BackgroundRemoval.Function;

/// <summary>
/// Routes each job by its source's scheme: <c>s3://</c> (any case of <c>s3:</c>) to the S3 function, anything else to
/// the file function, which keeps <see cref="FileRoots"/>' rules (local mode only). A host passes the functions it
/// has: an AWS host has no file roots, so local paths fail permanently there; a local host without S3 refuses S3 URIs.
/// A job may not mix the two (an S3 source with a file destination, or the other way round).
/// </summary>
public sealed class BackgroundRemovalFunction : IJobFunction
{
    private readonly S3BackgroundRemovalFunction? _s3;
    private readonly FileBackgroundRemovalFunction? _files;

    public BackgroundRemovalFunction(S3BackgroundRemovalFunction? s3, FileBackgroundRemovalFunction? files)
    {
        if (s3 is null && files is null)
        {
            throw new ArgumentException("give at least one of the S3 and file functions");
        }

        _s3 = s3;
        _files = files;
    }

    public ValueTask<string?> GetSourceIdentityAsync(Job job, CancellationToken cancellationToken) =>
        Pick(job).GetSourceIdentityAsync(job, cancellationToken);

    public ValueTask<JobOutput> InvokeAsync(Job job, InvocationContext context, CancellationToken cancellationToken) =>
        Pick(job).InvokeAsync(job, context, cancellationToken);

    private IJobFunction Pick(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        bool s3Source = S3Uri.IsS3(job.Source);
        bool s3Destination = job.Destination is not null && S3Uri.IsS3(job.Destination);
        if (s3Source)
        {
            if (job.Destination is not null && !s3Destination)
            {
                throw new InvalidLocationException($"destination '{S3Uri.Show(job.Destination)}' must be an s3:// URI when the source is one ('{S3Uri.Show(job.Source)}')");
            }

            return _s3 ?? throw new InvalidLocationException($"source '{S3Uri.Show(job.Source)}' is an S3 URI, but this host has no S3 storage configured");
        }

        if (s3Destination)
        {
            throw new InvalidLocationException($"destination '{S3Uri.Show(job.Destination!)}' is an S3 URI but the source '{S3Uri.Show(job.Source)}' is a local path; use an s3:// source or a local destination");
        }

        return _files ?? throw new InvalidLocationException($"source '{S3Uri.Show(job.Source)}' is not an s3:// URI; local file paths are accepted in local mode only");
    }
}
