using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;

namespace Pipeline.Core.Idempotency;

/// <summary>
/// Who holds a claim: a process on a host, told apart from a later process that reuses its id by its start stamp,
/// and optionally an instance inside that process. Its string form, <c>host/pid/startTicks[/instance]</c>, is what
/// the stores keep as the owner, so <see cref="IOwnerLiveness"/> can later decide whether the holder is gone.
/// </summary>
public sealed record OwnerIdentity
{
    private const char Separator = '/';

    private static readonly Lazy<OwnerIdentity> CurrentProcess = new(CreateCurrent, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly string _text;

    /// <param name="host">The host name; it may not contain '/'.</param>
    /// <param name="processId">The process id, positive.</param>
    /// <param name="processStartTicks">
    /// A stamp of the process start that every process on the host reads alike: on Linux the <c>starttime</c> of
    /// <c>/proc/PID/stat</c> (clock ticks since boot), elsewhere the start time in UTC ticks; 0 when it was unreadable.
    /// </param>
    /// <param name="instance">Tells apart owners inside one process (two guards in a test); it may not contain '/'.</param>
    public OwnerIdentity(string host, int processId, long processStartTicks, string? instance = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        if (host.Contains(Separator, StringComparison.Ordinal))
        {
            throw new ArgumentException("A host name may not contain '/'.", nameof(host));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(processId);
        ArgumentOutOfRangeException.ThrowIfNegative(processStartTicks);
        if (instance is not null && (instance.Length == 0 || instance.Contains(Separator, StringComparison.Ordinal)))
        {
            throw new ArgumentException("An instance must be non-empty and may not contain '/'.", nameof(instance));
        }

        Host = host;
        ProcessId = processId;
        ProcessStartTicks = processStartTicks;
        Instance = instance;
        _text = instance is null
            ? string.Create(CultureInfo.InvariantCulture, $"{host}/{processId}/{processStartTicks}")
            : string.Create(CultureInfo.InvariantCulture, $"{host}/{processId}/{processStartTicks}/{instance}");
    }

    /// <summary>This process, computed once.</summary>
    public static OwnerIdentity Current => CurrentProcess.Value;

    public string Host { get; }

    public int ProcessId { get; }

    public long ProcessStartTicks { get; }

    /// <summary>Null for the process itself; otherwise one owner among several in the process.</summary>
    public string? Instance { get; }

    /// <summary>The same process with a fresh random instance, distinct from every other owner.</summary>
    public OwnerIdentity WithNewInstance() => WithInstance(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)));

    /// <summary>The same process as a named instance.</summary>
    public OwnerIdentity WithInstance(string instance) => new(Host, ProcessId, ProcessStartTicks, instance);

    /// <summary>Whether <paramref name="other"/> names the same process (whatever the instances).</summary>
    public bool IsSameProcess(OwnerIdentity other) =>
        other is not null
        && string.Equals(Host, other.Host, StringComparison.OrdinalIgnoreCase)
        && ProcessId == other.ProcessId
        && ProcessStartTicks == other.ProcessStartTicks;

    /// <summary>The string form, <c>host/pid/startTicks[/instance]</c>.</summary>
    public override string ToString() => _text;

    public static OwnerIdentity Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var identity)
            ? identity
            : throw new FormatException($"'{text}' is not an owner identity (host/pid/startTicks[/instance]).");
    }

    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out OwnerIdentity? identity)
    {
        identity = null;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        Span<Range> parts = stackalloc Range[5];
        var span = text.AsSpan();
        var count = span.Split(parts, Separator);
        if (count is not (3 or 4))
        {
            return false;
        }

        var host = span[parts[0]];
        var instance = count == 4 ? span[parts[3]] : default;
        if (host.IsEmpty
            || (count == 4 && instance.IsEmpty)
            || !int.TryParse(span[parts[1]], NumberStyles.None, CultureInfo.InvariantCulture, out var processId)
            || processId <= 0
            || !long.TryParse(span[parts[2]], NumberStyles.None, CultureInfo.InvariantCulture, out var startTicks))
        {
            return false;
        }

        identity = new OwnerIdentity(host.ToString(), processId, startTicks, count == 4 ? instance.ToString() : null);
        return true;
    }

    private static OwnerIdentity CreateCurrent()
    {
        var processId = Environment.ProcessId;
        // 0 marks an unreadable stamp; liveness then trusts only "no such process", never a stamp mismatch.
        var startTicks = ProcessStartStamp.Probe(processId, out var stamp) == ProcessProbe.Running ? stamp : 0;
        return new OwnerIdentity(Environment.MachineName, processId, startTicks);
    }
}
