using Microsoft.Extensions.Logging;

namespace Pipeline.Aws.S3;

internal static partial class S3Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "{Location} already holds this job's result (ETag {ETag}); a previous attempt wrote it, so nothing was written")]
    public static partial void AlreadyWritten(ILogger logger, string location, string? eTag);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "{Location} held another job's result (ETag {ETag}); replaced it")]
    public static partial void Replacing(ILogger logger, string location, string? eTag);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "bucket {Bucket}: conditional writes are {Mode} (probed)")]
    public static partial void Probed(ILogger logger, string bucket, ConditionalWrites mode);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "bucket {Bucket}: the conditional-write probe was refused ({Reason}); using HeadFirst")]
    public static partial void ProbeRefused(ILogger logger, string bucket, string reason);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "bucket {Bucket}: could not delete the probe object {Key} ({Reason}); it is harmless and can be removed by hand")]
    public static partial void ProbeLeft(ILogger logger, string bucket, string key, string reason);
}
