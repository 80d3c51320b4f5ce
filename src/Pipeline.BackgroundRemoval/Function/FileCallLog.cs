using System.Text;

namespace Pipeline.BackgroundRemoval.Function;

/// <summary>
/// Appends one line <c>{key}\t{source}\n</c> per call to a file, written through at once, so a process killed with
/// SIGKILL leaves every started call on record and a rerun appends to the same file. Crash tests count the lines.
/// Tabs, line breaks and backslashes in either field are escaped, so a line is always one call.
/// </summary>
public sealed class FileCallLog : IFunctionCallLog, IDisposable
{
    private readonly StreamWriter _writer;
    private readonly Lock _gate = new();

    public FileCallLog(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var stream = new FileStream(full, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        _writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)) { AutoFlush = true, NewLine = "\n" };
        FilePath = full;
    }

    /// <summary>The log file's full path.</summary>
    public string FilePath { get; }

    public void Started(string key, string source)
    {
        string line = string.Concat(Escape(key), "\t", Escape(source), "\n");
        lock (_gate)
        {
            _writer.Write(line);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _writer.Dispose();
        }
    }

    private static string Escape(string text) =>
        text.AsSpan().ContainsAny('\t', '\n', '\r') || text.Contains('\\', StringComparison.Ordinal)
            ? text.Replace("\\", "\\\\", StringComparison.Ordinal)
                .Replace("\t", "\\t", StringComparison.Ordinal)
                .Replace("\n", "\\n", StringComparison.Ordinal)
                .Replace("\r", "\\r", StringComparison.Ordinal)
            : text;
}
