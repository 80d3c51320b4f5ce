using Pipeline.BackgroundRemoval.Function;

namespace Pipeline.BackgroundRemoval.Tests.Function;

/// <summary>A temporary base folder with <c>in/</c>, <c>out/</c> and a sibling <c>outside/</c> no job may touch.</summary>
internal sealed class Folders : IDisposable
{
    private readonly DirectoryInfo _base = Directory.CreateTempSubdirectory("function-");

    public Folders()
    {
        // Real paths, so they compare equal to what FileRoots resolves even where the temp folder is a symlink.
        Base = RealPath.Of(_base.FullName);
        In = Directory.CreateDirectory(Path.Combine(Base, "in")).FullName;
        Out = Directory.CreateDirectory(Path.Combine(Base, "out")).FullName;
        Outside = Directory.CreateDirectory(Path.Combine(Base, "outside")).FullName;
    }

    public string Base { get; }

    public string In { get; }

    public string Out { get; }

    public string Outside { get; }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="relative"/> under <paramref name="folder"/>, creating folders.</summary>
    public static string Write(string folder, string relative, byte[] bytes)
    {
        string path = Path.Combine(folder, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Every file under <paramref name="folder"/>, relative, with '/' separators, sorted.</summary>
    public static string[] FilesUnder(string folder) =>
        [.. Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(folder, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)];

    public void Dispose() => _base.Delete(recursive: true);
}
