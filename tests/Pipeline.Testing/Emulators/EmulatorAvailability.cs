namespace Pipeline.Testing.Emulators;

/// <summary>Says whether an emulator can run here, and if not, why (the reason a test skips with).</summary>
public static class EmulatorAvailability
{
    public static string EmulatorsDirectory { get; } = RepositoryRoot.Combine("tools", "emulators");

    public static string? MotoServerPath { get; } = FindOnPath("moto_server");

    public static string? NodePath { get; } = FindOnPath("node");

    public static string? WhyUnavailable(EmulatorKind kind)
    {
        switch (kind)
        {
            case EmulatorKind.Moto:
                return MotoServerPath is null ? "moto_server is not on PATH (install moto 5.2.1: pip install 'moto[server]==5.2.1')" : null;
            default:
                if (NodePath is null)
                {
                    return $"node is not on PATH, so {kind} cannot run";
                }

                var package = kind switch
                {
                    EmulatorKind.Fauxqs => "fauxqs",
                    EmulatorKind.Dynalite => "dynalite",
                    EmulatorKind.Kinesalite => "kinesalite",
                    _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
                };
                return Directory.Exists(Path.Combine(EmulatorsDirectory, "node_modules", package))
                    ? null
                    : $"{package} is not installed in tools/emulators (the build runs `npm ci` there; it failed or npm is missing)";
        }
    }

    private static string? FindOnPath(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
