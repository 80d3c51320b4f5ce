namespace Pipeline.Cli;

/// <summary>bgpipe's exit codes (documented in README.md).</summary>
internal static class ExitCodes
{
    /// <summary>Every job done or skipped.</summary>
    public const int Ok = 0;

    /// <summary>Infrastructure error (store, queue, file system).</summary>
    public const int Infrastructure = 1;

    /// <summary>Usage error: bad arguments.</summary>
    public const int Usage = 2;

    /// <summary>The run finished but some jobs were dead-lettered.</summary>
    public const int DeadLettered = 3;

    /// <summary>The input image was refused (corrupt, truncated, not an image, over the pixel limit).</summary>
    public const int BadInput = 4;

    /// <summary>Stopped by Ctrl+C or SIGTERM before the end (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;
}
