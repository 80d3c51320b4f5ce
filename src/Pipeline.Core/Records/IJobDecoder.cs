namespace Pipeline.Core.Records;

/// <summary>
/// Turns a record body into a <see cref="Job"/>. Pluggable so the MassTransit envelope (or any other wire shape)
/// can be decoded without touching the engine.
/// </summary>
public interface IJobDecoder
{
    /// <summary>Decodes <paramref name="body"/>; on failure returns false and a reason that names the problem.</summary>
    bool TryDecode(ReadOnlySpan<byte> body, out Job? job, out string? error);
}
