namespace Pipeline.BackgroundRemoval.Imaging;

/// <summary>Why an input was refused; lets callers pick an exit code or a dead-letter reason without parsing text.</summary>
public enum ImageRejectionKind
{
    Empty,
    Unrecognised,
    UnsupportedFormat,
    TooLarge,
    Truncated,
    Corrupt,
}
