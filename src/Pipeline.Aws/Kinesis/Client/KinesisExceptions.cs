using System.Net;

namespace Pipeline.Aws.Kinesis.Client;

/// <summary>
/// Kinesis refused a request: <see cref="ErrorType"/> is the error's <c>__type</c> (without any namespace prefix).
/// The typed subclasses below are the failures callers act on; anything else arrives as this type.
/// </summary>
public class KinesisServiceException : Exception
{
    public KinesisServiceException(string message, HttpStatusCode statusCode, string errorType, Exception? inner = null)
        : base(message, inner)
    {
        StatusCode = statusCode;
        ErrorType = errorType;
    }

    public KinesisServiceException(string message) : this(message, 0, string.Empty) { }

    public KinesisServiceException(string message, Exception inner) : this(message, 0, string.Empty, inner) { }

    public KinesisServiceException() : this("Kinesis refused the request.") { }

    public HttpStatusCode StatusCode { get; }

    /// <summary>The service's error type, e.g. <c>ResourceNotFoundException</c>; empty when the answer named none.</summary>
    public string ErrorType { get; }
}

/// <summary>ProvisionedThroughputExceededException: the shard's read or write limit was hit; back off and retry.</summary>
public sealed class KinesisThroughputExceededException : KinesisServiceException
{
    public KinesisThroughputExceededException(string message, HttpStatusCode statusCode, string errorType) : base(message, statusCode, errorType) { }

    public KinesisThroughputExceededException(string message) : base(message) { }

    public KinesisThroughputExceededException(string message, Exception inner) : base(message, inner) { }

    public KinesisThroughputExceededException() { }
}

/// <summary>ExpiredIteratorException: the shard iterator is older than five minutes; get a new one from the checkpoint.</summary>
public sealed class KinesisExpiredIteratorException : KinesisServiceException
{
    public KinesisExpiredIteratorException(string message, HttpStatusCode statusCode, string errorType) : base(message, statusCode, errorType) { }

    public KinesisExpiredIteratorException(string message) : base(message) { }

    public KinesisExpiredIteratorException(string message, Exception inner) : base(message, inner) { }

    public KinesisExpiredIteratorException() { }
}

/// <summary>ResourceNotFoundException: the stream (or shard) does not exist, or is not ACTIVE yet for some operations.</summary>
public sealed class KinesisResourceNotFoundException : KinesisServiceException
{
    public KinesisResourceNotFoundException(string message, HttpStatusCode statusCode, string errorType) : base(message, statusCode, errorType) { }

    public KinesisResourceNotFoundException(string message) : base(message) { }

    public KinesisResourceNotFoundException(string message, Exception inner) : base(message, inner) { }

    public KinesisResourceNotFoundException() { }
}

/// <summary>ResourceInUseException: the stream exists already, or is not ACTIVE for the change asked.</summary>
public sealed class KinesisResourceInUseException : KinesisServiceException
{
    public KinesisResourceInUseException(string message, HttpStatusCode statusCode, string errorType) : base(message, statusCode, errorType) { }

    public KinesisResourceInUseException(string message) : base(message) { }

    public KinesisResourceInUseException(string message, Exception inner) : base(message, inner) { }

    public KinesisResourceInUseException() { }
}

/// <summary>InvalidArgumentException or ValidationException: the request itself is wrong; retrying cannot help.</summary>
public sealed class KinesisInvalidArgumentException : KinesisServiceException
{
    public KinesisInvalidArgumentException(string message, HttpStatusCode statusCode, string errorType) : base(message, statusCode, errorType) { }

    public KinesisInvalidArgumentException(string message) : base(message) { }

    public KinesisInvalidArgumentException(string message, Exception inner) : base(message, inner) { }

    public KinesisInvalidArgumentException() { }
}

/// <summary>LimitExceededException: a control-plane rate or an account limit (shards, streams) was hit.</summary>
public sealed class KinesisLimitExceededException : KinesisServiceException
{
    public KinesisLimitExceededException(string message, HttpStatusCode statusCode, string errorType) : base(message, statusCode, errorType) { }

    public KinesisLimitExceededException(string message) : base(message) { }

    public KinesisLimitExceededException(string message, Exception inner) : base(message, inner) { }

    public KinesisLimitExceededException() { }
}

/// <summary>
/// The endpoint failed with a 5xx (InternalFailure, ServiceUnavailable, or an emulator's crash: moto 5.2.1 answers
/// 500 for a malformed shard iterator). The request may or may not have taken effect; a retry is reasonable.
/// </summary>
public sealed class KinesisTransientException : KinesisServiceException
{
    public KinesisTransientException(string message, HttpStatusCode statusCode, string errorType) : base(message, statusCode, errorType) { }

    public KinesisTransientException(string message) : base(message) { }

    public KinesisTransientException(string message, Exception inner) : base(message, inner) { }

    public KinesisTransientException() { }
}
