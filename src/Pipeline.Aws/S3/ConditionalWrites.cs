namespace Pipeline.Aws.S3;

/// <summary>How <see cref="S3ObjectStore"/> makes a write happen at most once.</summary>
public enum ConditionalWrites
{
    /// <summary>
    /// Probe each bucket once (two conditional puts of a scratch object under <see cref="S3ObjectStoreOptions.ProbePrefix"/>,
    /// then delete it): <see cref="IfNoneMatch"/> where the second put is refused with 412, <see cref="HeadFirst"/> where
    /// the header is silently ignored (fauxqs 1.9.2) or the probe is denied.
    /// </summary>
    Auto,

    /// <summary>
    /// <c>PutObject</c> with <c>If-None-Match: *</c>; S3 answers 412 when the key exists, atomically. AWS (since
    /// August 2024) and moto 5.2.1 honour it.
    /// </summary>
    IfNoneMatch,

    /// <summary>
    /// HEAD the key, and put only when it is missing. Not atomic: two writers racing between HEAD and PUT can both
    /// write; the idempotency guard keeps two attempts of one job from running at once, so this only matters to
    /// different jobs sharing a destination. For endpoints that ignore the header.
    /// </summary>
    HeadFirst,
}
