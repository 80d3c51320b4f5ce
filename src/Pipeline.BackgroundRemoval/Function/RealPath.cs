namespace Pipeline.BackgroundRemoval.Function;

/// <summary>
/// <c>realpath(3)</c> in managed code: every existing symlink along a path is replaced by what it points to, and
/// <c>..</c> steps back from the real folder it follows, as the kernel does. Components that do not exist are
/// kept as written, so the result of a path still to be created is where it would be created.
/// </summary>
internal static class RealPath
{
    /// <summary>Linux gives up after 40 links (ELOOP); so do we.</summary>
    public const int MaxLinks = 40;

    private static readonly char[] Separators = ['/', '\\'];

    private static StringComparison Comparison =>
        OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;

    /// <summary>The real path of <paramref name="path"/> (made absolute against the working folder first).</summary>
    public static string Of(string path)
    {
        int links = 0;
        return Resolve(Path.GetFullPath(path), ref links);
    }

    /// <summary>Whether two real paths name the same place (case-insensitively where the file system usually is).</summary>
    public static bool Same(string a, string b) => string.Equals(a, b, Comparison);

    /// <summary>Whether <paramref name="path"/> is <paramref name="root"/> itself or lies beneath it.</summary>
    public static bool IsWithin(string path, string root)
    {
        if (Same(path, root))
        {
            return true;
        }

        string prefix = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        return path.StartsWith(prefix, Comparison);
    }

    /// <summary>The parts of a path between its separators, without empty ones (<c>a//b</c> is <c>a/b</c>).</summary>
    public static string[] Split(string path) => path.Split(Separators, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The folder above <paramref name="path"/>; the file-system root is its own parent, as in the kernel.</summary>
    public static string Parent(string path) => Path.GetDirectoryName(path) ?? path;

    // Not Path.GetFullPath on link targets: it folds "x/.." lexically, which is wrong when x is itself a link.
    private static string Resolve(string absolute, ref int links)
    {
        string root = Path.GetPathRoot(absolute)!;
        string current = root;
        foreach (string part in Split(absolute[root.Length..]))
        {
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                current = Parent(current);
                continue;
            }

            string next = Path.Join(current, part);
            if (new FileInfo(next).LinkTarget is not { } target)
            {
                current = next;
                continue;
            }

            if (++links > MaxLinks)
            {
                throw new SymlinkLoopException($"more than {MaxLinks} levels of symlinks at '{next}'");
            }

            current = Resolve(Path.IsPathRooted(target) ? target : Path.Join(current, target), ref links);
        }

        return current;
    }
}

/// <summary>A path whose symlinks point at each other, or nest deeper than <see cref="RealPath.MaxLinks"/>.</summary>
internal sealed class SymlinkLoopException : IOException
{
    public SymlinkLoopException(string message) : base(message) { }

    public SymlinkLoopException(string message, Exception inner) : base(message, inner) { }

    public SymlinkLoopException() { }
}
