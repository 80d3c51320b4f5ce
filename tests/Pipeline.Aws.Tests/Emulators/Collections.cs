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

/// <summary>Kinesis on kinesalite with its leases (and idempotency records, on-failure queue) on moto_server.</summary>
[CollectionDefinition(KinesisMappingCollections.Kinesalite)]
public sealed class KinesaliteWithMotoCollection : ICollectionFixture<KinesaliteFixture>, ICollectionFixture<MotoFixture>;

public static class KinesisMappingCollections
{
    public const string Kinesalite = "kinesalite+moto_server";
}
