using Pipeline.Testing.Emulators;

namespace Pipeline.Client.Tests;

[CollectionDefinition(EmulatorCollections.Moto)]
public sealed class MotoCollection : ICollectionFixture<MotoFixture>;

[CollectionDefinition(EmulatorCollections.Fauxqs)]
public sealed class FauxqsCollection : ICollectionFixture<FauxqsFixture>;

[CollectionDefinition(EmulatorCollections.Kinesalite)]
public sealed class KinesaliteCollection : ICollectionFixture<KinesaliteFixture>;
