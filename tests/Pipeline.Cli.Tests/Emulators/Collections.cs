using Pipeline.Testing.Emulators;

namespace Pipeline.Cli.Tests.Emulators;

[CollectionDefinition(EmulatorCollections.Moto)]
public sealed class MotoCollection : ICollectionFixture<MotoFixture>;
