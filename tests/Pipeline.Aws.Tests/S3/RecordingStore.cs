using Pipeline.Core.Storage;

namespace Pipeline.Aws.Tests.S3;

/// <summary>The real store, noting what each write did (a spy, not a stub: every call goes to the emulator).</summary>
internal sealed class RecordingStore(IObjectStore inner) : IObjectStore
{
    public List<WriteOutcome> Outcomes { get; } = [];

    public void EnsureAllowed(string bucket) => inner.EnsureAllowed(bucket);

    public ValueTask<ObjectHead?> HeadAsync(S3Uri location, CancellationToken cancellationToken) => inner.HeadAsync(location, cancellationToken);

    public ValueTask<byte[]> ReadAsync(ObjectHead head, CancellationToken cancellationToken) => inner.ReadAsync(head, cancellationToken);

    public async ValueTask<WriteResult> WriteOnceAsync(S3Uri location, ReadOnlyMemory<byte> content, string contentType, string writerTag, CancellationToken cancellationToken)
    {
        WriteResult result = await inner.WriteOnceAsync(location, content, contentType, writerTag, cancellationToken);
        Outcomes.Add(result.Outcome);
        return result;
    }

    public IAsyncEnumerable<ObjectEntry> ListAsync(string bucket, string prefix, CancellationToken cancellationToken) => inner.ListAsync(bucket, prefix, cancellationToken);
}
