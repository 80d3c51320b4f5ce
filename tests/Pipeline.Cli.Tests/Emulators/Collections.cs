using Pipeline.Testing.Emulators;

namespace Pipeline.Cli.Tests.Emulators;

[CollectionDefinition(EmulatorCollections.Moto)]
public sealed class MotoCollection : ICollectionFixture<MotoFixture>;

/// <summary>A moto_server of its own for the long crash test, so it runs beside the other CLI tests.</summary>
[CollectionDefinition(CrashCollection.Name)]
public sealed class CrashCollection : ICollectionFixture<MotoFixture>
{
    public const string Name = "moto_server (crash)";
}
