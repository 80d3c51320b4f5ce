namespace Pipeline.Aws.Provisioning;

/// <summary>The endpoint could not be reached (refused, timed out, DNS): nothing could be read or made.</summary>
public sealed class EndpointUnreachableException : Exception
{
    public EndpointUnreachableException()
    {
    }

    public EndpointUnreachableException(string message)
        : base(message)
    {
    }

    public EndpointUnreachableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// A resource exists but differs in a way provision must not repair by itself (a table's key, a queue's FIFO-ness,
/// TTL on another attribute): doing so would mean deleting data. The message names the resource and both values.
/// </summary>
public sealed class ProvisioningConflictException : Exception
{
    public ProvisioningConflictException()
    {
    }

    public ProvisioningConflictException(string message)
        : base(message)
    {
    }

    public ProvisioningConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
