namespace Pipeline.BackgroundRemoval.Imaging;

/// <summary>
/// The input is not an image this tool will process. The message is one line a user can act on,
/// prefixed with the file name when one was given, e.g. <c>in/x.jpg: file is empty (0 bytes)</c>.
/// </summary>
public sealed class ImageRejectedException : Exception
{
    public ImageRejectedException(ImageRejectionKind kind, string reason, string? fileName = null)
        : base(fileName is null ? reason : $"{fileName}: {reason}")
    {
        Kind = kind;
        Reason = reason;
        FileName = fileName;
    }

    public ImageRejectedException(string message) : this(ImageRejectionKind.Corrupt, message) { }

    public ImageRejectedException(string message, Exception inner) : base(message, inner)
    {
        Kind = ImageRejectionKind.Corrupt;
        Reason = message;
    }

    public ImageRejectedException() : this(ImageRejectionKind.Corrupt, "image rejected") { }

    public ImageRejectionKind Kind { get; }

    /// <summary>The problem without the file name, e.g. <c>file is empty (0 bytes)</c>.</summary>
    public string Reason { get; }

    /// <summary>The name the caller gave (usually the path), or null.</summary>
    public string? FileName { get; }
}
