using Pipeline.BackgroundRemoval.Model;
using Pipeline.Testing.Emulators;

namespace Pipeline.MassTransit.Tests.Fixtures;

/// <summary>One loaded U²-Net-p (copied to bin/models by build/Model.targets) for every test that runs the real function.</summary>
public sealed class ModelFixture : IDisposable
{
    public MatteModel Model { get; } = MatteModel.Load();

    public void Dispose() => Model.Dispose();
}

/// <summary>The consumer tests and the SQS interop tests: the model, and moto_server for SQS.</summary>
[CollectionDefinition(Name)]
public sealed class ModelAndMotoCollection : ICollectionFixture<ModelFixture>, ICollectionFixture<MotoFixture>
{
    public const string Name = "model+moto_server";
}
