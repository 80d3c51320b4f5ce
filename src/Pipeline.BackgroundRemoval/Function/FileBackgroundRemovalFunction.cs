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
        return ValueTask.FromResult<string?>(Identity(ExistingSource(job.Source)));
    }

    /// <summary>Writes the result and returns its full path.</summary>
    public ValueTask<JobOutput> InvokeAsync(Job job, InvocationContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        _callLog?.Started(context.IdempotencyKey, job.Source);
        cancellationToken.ThrowIfCancellationRequested();

        FileInfo source = ExistingSource(job.Source);
        string destination = _roots.ResolveDestination(job);
        RemovalRequest request = JobRemoval.Request(job);
        var to = new FileDestination(destination, job.Destination ?? FileRoots.DefaultDestination(job.Source));
        return JobRemoval.RunAsync(_remover, job, request, new FileSource(job.Source, source), to, context.IdempotencyKey, cancellationToken);
    }

    internal BackgroundRemover Remover => _remover;

    internal IFunctionCallLog? CallLog => _callLog;

    /// <summary>The source side of a job that writes elsewhere (S3): inside the input folder and existing, not yet read.</summary>
    internal IJobSource OpenSource(string jobSource) => new FileSource(jobSource, ExistingSource(jobSource));

    /// <summary>The destination side of a job that reads elsewhere (S3): a path inside the output folder, not yet written.</summary>
    internal IJobDestination OpenDestination(string jobDestination) =>
        new FileDestination(_roots.ResolveDestination(jobDestination), jobDestination);

    private static string Identity(FileInfo file) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{file.Length}-{file.LastWriteTimeUtc.Ticks}");

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

    private sealed class FileSource(string jobSource, FileInfo file) : IJobSource
    {
        public string Name => jobSource;

        public ValueTask<string> IdentityAsync(CancellationToken cancellationToken) => ValueTask.FromResult(Identity(file));

        // The identity is the one checked before the read, like the claim's: a file rewritten in between is caught next time.
        public ValueTask<SourceContent> ReadAsync(string idempotencyKey, CancellationToken cancellationToken) =>
            ValueTask.FromResult(new SourceContent(Read(jobSource, file), Identity(file)));
    }

    private sealed class FileDestination(string path, string jobDestination) : IJobDestination
    {
        public ValueTask<string> WriteAsync(byte[] png, string writerTag, CancellationToken cancellationToken)
        {
            try
            {
                ImageEncoder.WriteAtomically(path, png);
            }
            catch (IOException ex)
            {
                throw new TransientJobException($"could not write destination '{Shown(jobDestination)}': {ex.Message}", ex);
            }

            return ValueTask.FromResult(path);
        }
    }

    private static string Shown(string path) => FileRoots.Show(path);
}
