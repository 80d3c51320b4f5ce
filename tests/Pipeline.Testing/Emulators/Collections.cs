namespace Pipeline.Testing.Emulators;

/// <summary>Collection names; each test project declares the matching [CollectionDefinition] classes.</summary>
public static class EmulatorCollections
{
    public const string Moto = "moto_server";
    public const string Fauxqs = "fauxqs";
    public const string Dynalite = "dynalite";
    public const string Kinesalite = "kinesalite";
}
