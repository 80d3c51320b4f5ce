using System.Collections.Concurrent;
using Pipeline.BackgroundRemoval.Function;

namespace Pipeline.MassTransit.Tests.Fakes;

/// <summary>Records every call the real function starts (key and source).</summary>
public sealed class CountingCallLog : IFunctionCallLog
{
    public ConcurrentQueue<(string Key, string Source)> Calls { get; } = new();

    public void Started(string key, string source) => Calls.Enqueue((key, source));
}
