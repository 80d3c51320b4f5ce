namespace Pipeline.Testing.Emulators;

/// <summary>The wire-protocol servers the integration tests run on 127.0.0.1.</summary>
public enum EmulatorKind
{
    /// <summary>moto_server 5.2.1 (pip, preinstalled): SQS, Kinesis, DynamoDB, S3.</summary>
    Moto,

    /// <summary>npm fauxqs 1.9.2 (tools/emulators lockfile): SQS and S3.</summary>
    Fauxqs,

    /// <summary>npm dynalite (tools/emulators lockfile): DynamoDB.</summary>
    Dynalite,

    /// <summary>npm kinesalite (tools/emulators lockfile): Kinesis.</summary>
    Kinesalite,
}
