using Pipeline.BackgroundRemoval.Imaging;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Storage;

namespace Pipeline.BackgroundRemoval.Function;

/// <summary>
/// Where a job's image comes from, already checked (well-formed, allowed, inside its folder): an S3 object or a file
/// under the input folder. Split from <see cref="IJobDestination"/> so one job can read from one kind and write to the other.
/// </summary>
internal interface IJobSource
{
    /// <summary>The source as reports name it: <c>s3://bucket/key</c>, or the job's path relative to the input folder.</summary>
    string Name { get; }

    /// <summary>The identity folded into the idempotency key (<c>s3:{ETag}</c>, or <c>{length}-{mtime ticks}</c>).</summary>
    ValueTask<string> IdentityAsync(CancellationToken cancellationToken);

    /// <summary>The bytes and the identity they were read under; fails transiently when the claim was made on another.</summary>
    ValueTask<SourceContent> ReadAsync(string idempotencyKey, CancellationToken cancellationToken);
}

/// <summary>Where a job's PNG goes, already checked: an S3 object (written once) or a file under the output folder (atomically).</summary>
internal interface IJobDestination
{
    /// <summary>Writes the PNG and returns the location reported as the job's output.</summary>
    ValueTask<string> WriteAsync(byte[] png, string writerTag, CancellationToken cancellationToken);
}

internal readonly record struct SourceContent(byte[] Bytes, string Identity);

/// <summary>The steps every job shares, whatever its source and destination: read, remove the background, write.</summary>
internal static class JobRemoval
{
    /// <summary>The job's output settings; a background that is not <c>#RRGGBB</c> fails permanently.</summary>
    public static RemovalRequest Request(Job job)
    {
        if (job.Background is { } background && !JsonJobDecoder.IsHexColour(background))
        {
            throw new PermanentJobException($"background '{S3Uri.Show(background)}' must be a colour as #RRGGBB");
        }

        return new RemovalRequest(job.Output, job.Background);
    }

    /// <summary>
    /// Reads the source, removes its background and writes the PNG, tagged <c>{job key}#{source identity}</c> so that an
    /// S3 destination written by a previous attempt of this very job is kept rather than written again.
    /// </summary>
    public static async ValueTask<JobOutput> RunAsync(
        BackgroundRemover remover, Job job, RemovalRequest request, IJobSource source, IJobDestination destination, string idempotencyKey, CancellationToken cancellationToken)
    {
        SourceContent content = await source.ReadAsync(idempotencyKey, cancellationToken).ConfigureAwait(false);

        RemovalResult result;
        try
        {
            result = remover.Remove(content.Bytes, request, source.Name);
        }
        catch (ImageRejectedException ex)
        {
            throw new PermanentJobException(ex.Message, ex);
        }

        cancellationToken.ThrowIfCancellationRequested();
        string writer = string.Concat(job.Key, "#", content.Identity);
        string location = await destination.WriteAsync(result.Png, writer, cancellationToken).ConfigureAwait(false);
        return new JobOutput(location);
    }
}
