using Pipeline.Core.Invocation;
using Pipeline.Core.Records;

namespace Pipeline.BackgroundRemoval.Function;

/// <summary>
/// The two folders a local run may touch: jobs name their source relative to <see cref="InputRoot"/> and their
/// destination relative to <see cref="OutputRoot"/>. Only files under the input folder are read and only paths
/// under the output folder are written: a path that leaves its folder, by <c>..</c>, by being absolute, or through
/// a symlink (any component, followed to its real target), fails the job permanently with a reason naming it.
/// </summary>
/// <remarks>
/// The roots are kept as real paths (their own symlinks resolved), so that what a path resolves to can be compared
/// with them. The check runs when a job is resolved; a symlink swapped in between the check and the read or write
/// is not guarded against (whoever can do that can already write into the folders).
/// </remarks>
public sealed record FileRoots
{
    private const string InputFolder = "input folder";
    private const string OutputFolder = "output folder";

    /// <summary>
    /// Checks that <paramref name="inputRoot"/> is an existing folder and creates <paramref name="outputRoot"/> when
    /// it is missing. Relative roots are taken against the working folder.
    /// </summary>
    public FileRoots(string inputRoot, string outputRoot)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(inputRoot);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputRoot);

        string input = RealPath.Of(inputRoot);
        if (!Directory.Exists(input))
        {
            throw new DirectoryNotFoundException(File.Exists(input)
                ? $"input folder '{inputRoot}' is a file, not a folder"
                : $"input folder '{inputRoot}' does not exist");
        }

        string output = RealPath.Of(outputRoot);
        if (File.Exists(output))
        {
            throw new IOException($"output folder '{outputRoot}' is a file, not a folder");
        }

        Directory.CreateDirectory(output);
        InputRoot = input;
        OutputRoot = RealPath.Of(output);
    }

    /// <summary>The input folder as a full, real path.</summary>
    public string InputRoot { get; }

    /// <summary>The output folder as a full, real path.</summary>
    public string OutputRoot { get; }

    /// <summary>
    /// The real path of a job's source, e.g. <c>a/b.jpg</c> → <c>&lt;InputRoot&gt;/a/b.jpg</c>. Throws
    /// <see cref="PermanentJobException"/> when it is not a path inside the input folder. The file need not exist.
    /// </summary>
    public string ResolveSource(string jobSource) =>
        Resolve(InputRoot, jobSource, "source", InputFolder);

    /// <summary>
    /// The real path a job's result goes to: its <see cref="Job.Destination"/> relative to the output folder, or by
    /// default the source's relative path with a <c>.png</c> extension (<c>a/b.jpg</c> → <c>&lt;OutputRoot&gt;/a/b.png</c>).
    /// Throws <see cref="PermanentJobException"/> when that leaves the output folder (existing symlinks included), names
    /// a folder, or is the source itself.
    /// </summary>
    public string ResolveDestination(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        string source = ResolveSource(job.Source);
        string relative = job.Destination ?? DefaultDestination(job.Source);
        string destination = ResolveDestination(relative);
        if (RealPath.Same(destination, source))
        {
            throw new PermanentJobException($"destination '{Show(relative)}' is the source '{Show(job.Source)}' itself; it would be overwritten");
        }

        return destination;
    }

    /// <summary>
    /// The real path of a destination named relative to the output folder, for a job whose source is not a local
    /// file (an S3 object). Throws <see cref="PermanentJobException"/> when it leaves the output folder (existing
    /// symlinks included) or names a folder.
    /// </summary>
    public string ResolveDestination(string jobDestination)
    {
        ArgumentNullException.ThrowIfNull(jobDestination);
        string destination = Resolve(OutputRoot, jobDestination, "destination", OutputFolder);
        if (Directory.Exists(destination) || EndsAsFolder(jobDestination))
        {
            throw new PermanentJobException($"destination '{Show(jobDestination)}' names a folder, not a file");
        }

        return destination;
    }

    /// <summary>The source's relative path with its extension replaced by <c>.png</c>: <c>a/b.jpg</c> → <c>a/b.png</c>.</summary>
    public static string DefaultDestination(string jobSource)
    {
        ArgumentNullException.ThrowIfNull(jobSource);
        return EndsAsFolder(jobSource) ? jobSource : Path.ChangeExtension(jobSource, ".png");
    }

    private static string Resolve(string root, string relative, string role, string folder)
    {
        if (string.IsNullOrWhiteSpace(relative))
        {
            throw new PermanentJobException($"{role} '{Show(relative)}' is empty; jobs name a file relative to the {folder}");
        }

        if (relative.Contains('\0', StringComparison.Ordinal))
        {
            throw new PermanentJobException($"{role} '{Show(relative)}' contains a NUL character");
        }

        if (IsAbsolute(relative))
        {
            throw new PermanentJobException($"{role} '{Show(relative)}' is an absolute path; jobs name files relative to the {folder}");
        }

        string[] parts = RealPath.Split(relative);
        string current = root;
        bool exists = true;
        for (int i = 0; i < parts.Length; i++)
        {
            string part = parts[i];
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                // current is a real path, so its parent is where ".." leads, as for the kernel.
                current = RealPath.Parent(current);
                if (!RealPath.IsWithin(current, root))
                {
                    throw new PermanentJobException($"{role} '{Show(relative)}' escapes the {folder}");
                }

                continue;
            }

            string next = Path.Join(current, part);
            if (!exists || new FileInfo(next).LinkTarget is null)
            {
                // Past the existing part of the path nothing can redirect it; the rest is where it would be created.
                exists = exists && Path.Exists(next);
                current = next;
                continue;
            }

            string real = RealOf(next, role, relative);
            if (!RealPath.IsWithin(real, root))
            {
                string via = i == parts.Length - 1
                    ? $"{role} '{Show(relative)}' is a symlink to '{real}'"
                    : $"{role} '{Show(relative)}' goes through '{Show(string.Join('/', parts[..(i + 1)]))}', a symlink to '{real}'";
                throw new PermanentJobException($"{via}, outside the {folder}");
            }

            current = real;
        }

        if (RealPath.Same(current, root))
        {
            throw new PermanentJobException($"{role} '{Show(relative)}' names the {folder} itself, not a file");
        }

        return current;
    }

    private static string RealOf(string path, string role, string relative)
    {
        try
        {
            return RealPath.Of(path);
        }
        catch (SymlinkLoopException ex)
        {
            throw new PermanentJobException($"{role} '{Show(relative)}' cannot be resolved: {ex.Message}", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new PermanentJobException($"{role} '{Show(relative)}' cannot be inspected: {ex.Message}", ex);
        }
    }

    // "C:\x" and "\\server\share" are absolute on Windows and would be on any machine the job is sent to.
    private static bool IsAbsolute(string path) =>
        Path.IsPathRooted(path)
        || path[0] is '/' or '\\'
        || (path.Length >= 2 && char.IsAsciiLetter(path[0]) && path[1] == ':');

    private static bool EndsAsFolder(string path) =>
        (path.Length > 0 && path[^1] is '/' or '\\')
        || RealPath.Split(path) is [.., "." or ".."];

    /// <summary>The path as it can be shown in one line of a report: control characters escaped.</summary>
    internal static string Show(string path)
    {
        if (!path.Any(char.IsControl))
        {
            return path;
        }

        var text = new System.Text.StringBuilder(path.Length + 8);
        foreach (char c in path)
        {
            if (!char.IsControl(c))
            {
                text.Append(c);
                continue;
            }

            text.Append(c switch
            {
                '\0' => "\\0",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ => $"\\u{(int)c:x4}",
            });
        }

        return text.ToString();
    }
}
