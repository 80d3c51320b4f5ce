using Pipeline.Core.Invocation;
using Pipeline.Core.Records;
using Pipeline.Core.Sources;

namespace Pipeline.Core.Hosting;

/// <summary>
/// The mapping's source with its acknowledgements counted: DeletedEventCount is what the source accepted, so it is
/// counted after the call returns, not when an outcome is decided.
/// </summary>
internal sealed class ObservedSource(IRecordSource inner, MappingStatistics statistics) : IRecordSource, IBatchAcknowledger
{
    private readonly IBatchAcknowledger _acknowledger = inner.Acknowledger;

    public string Name => inner.Name;

    public IBatchAcknowledger Acknowledger => this;

    public TimeSpan VisibilityTimeout => _acknowledger.VisibilityTimeout;

    public ValueTask<IReadOnlyList<SourceRecord>> ReceiveAsync(int maxRecords, CancellationToken cancellationToken) =>
        inner.ReceiveAsync(maxRecords, cancellationToken);

    public async ValueTask AcknowledgeAsync(IReadOnlyList<ItemResult> results, CancellationToken cancellationToken)
    {
        await _acknowledger.AcknowledgeAsync(results, cancellationToken).ConfigureAwait(false);
        int done = 0;
        for (int i = 0; i < results.Count; i++)
        {
            if (!results[i].IsFailure)
            {
                done++;
            }
        }

        statistics.AddDeleted(done);
    }

    public ValueTask ExtendAsync(IReadOnlyList<SourceRecord> records, TimeSpan visibility, CancellationToken cancellationToken) =>
        _acknowledger.ExtendAsync(records, visibility, cancellationToken);

    public ValueTask ReleaseAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken) =>
        _acknowledger.ReleaseAsync(records, cancellationToken);
}
