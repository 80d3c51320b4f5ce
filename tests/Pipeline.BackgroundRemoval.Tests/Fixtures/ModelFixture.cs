using Pipeline.BackgroundRemoval.Model;

namespace Pipeline.BackgroundRemoval.Tests.Fixtures;

/// <summary>One loaded U²-Net-p for every test that needs it (loading takes a moment; the session is thread-safe).</summary>
public sealed class ModelFixture : IDisposable
{
    public MatteModel Model { get; } = MatteModel.Load();

    public BackgroundRemover Remover => new(Model);

    public void Dispose() => Model.Dispose();
}

[CollectionDefinition(Name)]
public sealed class ModelCollection : ICollectionFixture<ModelFixture>
{
    public const string Name = "model";
}

/// <summary>Where the shared test data lives: ../shared/data beside the repository, as CI lays it out.</summary>
public static class SharedData
{
    public static string? Find(string relative)
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Pipeline.sln")))
            {
                string candidate = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data", relative));
                return Directory.Exists(candidate) || File.Exists(candidate) ? candidate : null;
            }
        }

        return null;
    }
}

/// <summary>A fact that skips, saying why, when ../shared/data/composites is not beside the repository.</summary>
public sealed class CompositesFactAttribute : FactAttribute
{
    public CompositesFactAttribute()
    {
        if (SharedData.Find("composites") is null)
        {
            Skip = "../shared/data/composites is absent (it sits beside the repository in CI and on developer machines)";
        }
    }
}
