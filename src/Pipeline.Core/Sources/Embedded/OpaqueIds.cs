using System.Buffers.Binary;

namespace Pipeline.Core.Sources.Embedded;

/// <summary>
/// Message ids and receipt handles. One process-wide counter under a random prefix makes them unique across every
/// queue in the process, so a handle from one queue can never match a message of another, and a stale handle never
/// comes back to life after a redrive. Cheaper than <see cref="Guid.NewGuid"/>, which matters at a million sends a second.
/// </summary>
internal static class OpaqueIds
{
    private static readonly ulong Prefix = BitConverter.ToUInt64(Guid.NewGuid().ToByteArray(), 0);

    private static long _counter;

    /// <summary>A GUID-shaped id, like an SQS MessageId.</summary>
    public static string NewMessageId()
    {
        Span<byte> bytes = stackalloc byte[16];
        Fill(bytes);
        return new Guid(bytes, bigEndian: true).ToString();
    }

    /// <summary>An opaque handle, shaped differently from message ids so the two are not confused in logs.</summary>
    public static string NewReceiptHandle()
    {
        Span<byte> bytes = stackalloc byte[16];
        Fill(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    private static void Fill(Span<byte> bytes)
    {
        BinaryPrimitives.WriteUInt64BigEndian(bytes, Prefix);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], (ulong)Interlocked.Increment(ref _counter));
    }
}
