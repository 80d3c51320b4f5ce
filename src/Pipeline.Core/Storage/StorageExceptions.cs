using Pipeline.Core.Invocation;

namespace Pipeline.Core.Storage;

/// <summary>A location that is not a valid <c>s3://bucket/key</c> (or not allowed in this mode).</summary>
public sealed class InvalidLocationException : PermanentJobException
{
    public InvalidLocationException(string reason) : base(reason) { }

    public InvalidLocationException(string reason, Exception inner) : base(reason, inner) { }

    public InvalidLocationException() { }
}

/// <summary>A bucket outside the configured allow-list.</summary>
public sealed class BucketNotAllowedException : PermanentJobException
{
    public BucketNotAllowedException(string reason) : base(reason) { }

    public BucketNotAllowedException(string reason, Exception inner) : base(reason, inner) { }

    public BucketNotAllowedException() { }
}

/// <summary>The object (or its bucket) does not exist.</summary>
public sealed class ObjectNotFoundException : PermanentJobException
{
    public ObjectNotFoundException(string reason) : base(reason) { }

    public ObjectNotFoundException(string reason, Exception inner) : base(reason, inner) { }

    public ObjectNotFoundException() { }
}

/// <summary>Access denied, or another refusal no retry changes (a 4xx that is not throttling).</summary>
public sealed class ObjectAccessDeniedException : PermanentJobException
{
    public ObjectAccessDeniedException(string reason) : base(reason) { }

    public ObjectAccessDeniedException(string reason, Exception inner) : base(reason, inner) { }

    public ObjectAccessDeniedException() { }
}

/// <summary>The source is larger than the function accepts.</summary>
public sealed class SourceTooLargeException : PermanentJobException
{
    public SourceTooLargeException(string reason) : base(reason) { }

    public SourceTooLargeException(string reason, Exception inner) : base(reason, inner) { }

    public SourceTooLargeException() { }
}

/// <summary>The object changed between its HEAD and the read or write that relied on it; a retry sees the new one.</summary>
public sealed class ObjectChangedException : TransientJobException
{
    public ObjectChangedException(string reason) : base(reason) { }

    public ObjectChangedException(string reason, Exception inner) : base(reason, inner) { }

    public ObjectChangedException() { }
}

/// <summary>Throttling, a 5xx, a timeout or a network failure.</summary>
public sealed class StorageUnavailableException : TransientJobException
{
    public StorageUnavailableException(string reason) : base(reason) { }

    public StorageUnavailableException(string reason, Exception inner) : base(reason, inner) { }

    public StorageUnavailableException() { }
}
