using Xunit;
using Pipeline.Aws;

namespace Pipeline.Testing.Emulators;

/// <summary>
/// One emulator per test collection, started on first use and killed at the end. Collections of different kinds run
/// in parallel; tests inside a collection share the server and isolate themselves by unique resource names.
/// </summary>
public abstract class EmulatorFixture : IAsyncLifetime
{
    private EmulatorProcess? _process;

    protected EmulatorFixture(EmulatorKind kind) => Kind = kind;

    public EmulatorKind Kind { get; }

    /// <summary>Null when the emulator is unavailable here (its tests skip through <see cref="EmulatorFactAttribute"/>).</summary>
    public string? UnavailableReason { get; private set; }

    public EmulatorProcess Process => _process ?? throw new InvalidOperationException($"{Kind} is not running: {UnavailableReason}");

    public AwsEndpoint Endpoint => AwsEndpoint.At(Process.Endpoint, AwsEndpoint.DefaultLocalRegion);

    public async Task InitializeAsync()
    {
        UnavailableReason = EmulatorAvailability.WhyUnavailable(Kind);
        if (UnavailableReason is null)
        {
            _process = await EmulatorProcess.StartAsync(Kind);
        }
    }

    public async Task DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
    }

    public override string ToString() => Kind.ToString();
}

public sealed class MotoFixture() : EmulatorFixture(EmulatorKind.Moto);

public sealed class FauxqsFixture() : EmulatorFixture(EmulatorKind.Fauxqs);

public sealed class DynaliteFixture() : EmulatorFixture(EmulatorKind.Dynalite);

public sealed class KinesaliteFixture() : EmulatorFixture(EmulatorKind.Kinesalite);

/// <summary>A fact that skips, naming the reason, when one of its emulators cannot run on this machine.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class EmulatorFactAttribute : FactAttribute
{
    public EmulatorFactAttribute(params EmulatorKind[] kinds)
    {
        ArgumentNullException.ThrowIfNull(kinds);
        foreach (var kind in kinds)
        {
            var reason = EmulatorAvailability.WhyUnavailable(kind);
            if (reason is not null)
            {
                Skip = reason;
                return;
            }
        }
    }
}
