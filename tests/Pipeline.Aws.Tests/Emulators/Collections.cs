using Pipeline.Testing.Emulators;

namespace Pipeline.Aws.Tests.Emulators;

[CollectionDefinition(EmulatorCollections.Moto)]
public sealed class MotoCollection : ICollectionFixture<MotoFixture>;

[CollectionDefinition(EmulatorCollections.Fauxqs)]
public sealed class FauxqsCollection : ICollectionFixture<FauxqsFixture>;

[CollectionDefinition(EmulatorCollections.Dynalite)]
public sealed class DynaliteCollection : ICollectionFixture<DynaliteFixture>;

[CollectionDefinition(EmulatorCollections.Kinesalite)]
public sealed class KinesaliteCollection : ICollectionFixture<KinesaliteFixture>;
