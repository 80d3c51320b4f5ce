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

/// <summary>moto_server (S3, SQS, DynamoDB) and kinesalite (the stream) for the Kinesis hosting tests.</summary>
[CollectionDefinition(KinesisCollection.Name)]
public sealed class KinesisCollection : ICollectionFixture<MotoFixture>, ICollectionFixture<KinesaliteFixture>
{
    public const string Name = "moto_server + kinesalite (run)";
}

/// <summary>Servers of their own for the Kinesis crash and failover tests, so they run beside the other CLI tests.</summary>
[CollectionDefinition(KinesisCrashCollection.Name)]
public sealed class KinesisCrashCollection : ICollectionFixture<MotoFixture>, ICollectionFixture<KinesaliteFixture>
{
    public const string Name = "moto_server + kinesalite (crash)";
}
