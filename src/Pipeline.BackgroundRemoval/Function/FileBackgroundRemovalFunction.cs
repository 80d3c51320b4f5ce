using Pipeline.BackgroundRemoval.Imaging;
using Pipeline.Core.Invocation;
using Pipeline.Core.Records;

namespace Pipeline.BackgroundRemoval.Function;

/// <summary>
/// The background-removal function for local runs (<c>bgpipe backlog &lt;in&gt; --out &lt;out&gt;</c>): reads the job's
/// source under the input folder, removes its background, and writes the PNG under the output folder, atomically.
/// A path outside the folders, a missing source or a bad image fails permanently; an I/O error while reading or
/// writing (a busy disk, a full one) is transient. The work is CPU-bound and runs on the caller's lane, synchronously.
/// </summary>
public sealed class FileBackgroundRemovalFunction : IJobFunction
{
    private readonly FileRoots _roots;
    private readonly BackgroundRemover _remover;
    private readonly IFunctionCallLog? _callLog;

    public FileBackgroundRemovalFunction(FileRoots roots, BackgroundRemover remover, IFunctionCallLog? callLog = null)
    {
        ArgumentNullException.ThrowIfNull(roots);
        ArgumentNullException.ThrowIfNull(remover);
        _roots = roots;
        _remover = remover;
        _callLog = callLog;
    }

    /// <summary><c>{length}-{last write time in ticks, UTC}</c> of the source file, so a rewritten source starts fresh.</summary>
    public ValueTask<string?> GetSourceIdentityAsync(Job job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        FileInfo file = ExistingSource(job.Source);
        return ValueTask.FromResult<string?>(string.Create(
            System.Globalization.CultureInfo.InvariantCulture, $"{file.Length}-{file.LastWriteTimeUtc.Ticks}"));
    }

    /// <summary>Writes the result and returns its full path.</summary>
    public ValueTask<JobOutput> InvokeAsync(Job job, InvocationContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        _callLog?.Started(context.IdempotencyKey, job.Source);
        cancellationToken.ThrowIfCancellationRequested();

        FileInfo source = ExistingSource(job.Source);
        string destination = _roots.ResolveDestination(job);
        RemovalRequest request = Request(job);
        byte[] encoded = Read(job.Source, source);

        RemovalResult result;
        try
        {
            result = _remover.Remove(encoded, request, job.Source);
        }
        catch (ImageRejectedException ex)
        {
            throw new PermanentJobException(ex.Message, ex);
        }

        try
        {
            ImageEncoder.WriteAtomically(destination, result.Png);
        }
        catch (IOException ex)
        {
            throw new TransientJobException($"could not write destination '{Shown(job.Destination ?? FileRoots.DefaultDestination(job.Source))}': {ex.Message}", ex);
        }

        return ValueTask.FromResult(new JobOutput(destination));
    }

    private FileInfo ExistingSource(string jobSource)
    {
        var file = new FileInfo(_roots.ResolveSource(jobSource));
        if (file.Exists)
        {
            return file;
        }

        throw new PermanentJobException(Directory.Exists(file.FullName)
            ? $"source '{Shown(jobSource)}' is a folder, not a file"
            : $"source '{Shown(jobSource)}' does not exist");
    }

    private static byte[] Read(string jobSource, FileInfo source)
    {
        try
        {
            return File.ReadAllBytes(source.FullName);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new PermanentJobException($"source '{Shown(jobSource)}' does not exist", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new PermanentJobException($"source '{Shown(jobSource)}' cannot be read: {ex.Message}", ex);
        }
        catch (IOException ex)
        {
            throw new TransientJobException($"could not read source '{Shown(jobSource)}': {ex.Message}", ex);
        }
    }

    private static RemovalRequest Request(Job job)
    {
        if (job.Background is { } background)
        {
            try
            {
                ImageEncoder.ParseHexColour(background);
            }
            catch (ArgumentException ex)
            {
                throw new PermanentJobException($"background '{Shown(background)}' must be a colour as #RRGGBB", ex);
            }
        }

        return new RemovalRequest(job.Output, job.Background);
    }

    private static string Shown(string path) => FileRoots.Show(path);
}
