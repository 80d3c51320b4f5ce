using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.BackgroundRemoval;
using Pipeline.BackgroundRemoval.Function;
using Pipeline.BackgroundRemoval.Model;
using Pipeline.Core.Idempotency;
using Pipeline.Core.Invocation;

namespace Pipeline.MassTransit;

/// <summary>Registers what <see cref="RemoveBackgroundConsumer"/> needs.</summary>
public static class BackgroundRemovalServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="BackgroundRemovalRunner"/> and, unless the container already has them, the embedded
    /// default: the model (<see cref="MatteModel"/>), the file function (<see cref="IJobFunction"/>) over the input
    /// and output folders, the SQLite idempotency store (<see cref="IIdempotencyStore"/>) and the guard. Register your
    /// own <see cref="IJobFunction"/> (e.g. the S3 function) or <see cref="IIdempotencyStore"/> (e.g. DynamoDB) first
    /// to use them instead; an <see cref="IFunctionCallLog"/> in the container is told of every call.
    /// Then add the consumer: <c>x.AddConsumer&lt;RemoveBackgroundConsumer, RemoveBackgroundConsumerDefinition&gt;()</c>.
    /// </summary>
    public static IServiceCollection AddBackgroundRemoval(this IServiceCollection services, Action<BackgroundRemovalOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new BackgroundRemovalOptions();
        configure(options);
        bool ownFunction = services.Any(d => d.ServiceType == typeof(IJobFunction));
        bool ownStore = services.Any(d => d.ServiceType == typeof(IIdempotencyStore));
        options.Validate(needsFolders: !ownFunction);
        if (!ownStore && options.StateDatabase is null && options.OutputFolder is null)
        {
            throw new InvalidOperationException("BackgroundRemovalOptions.StateDatabase or OutputFolder must be set for the embedded SQLite idempotency store");
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(options.Invoker);
        services.TryAddSingleton(_ =>
        {
            MatteModel model = MatteModel.Load(options.ModelPath);
            model.WarmUp();
            return model;
        });
        services.TryAddSingleton<IJobFunction>(sp => new FileBackgroundRemovalFunction(
            new FileRoots(options.InputFolder!, options.OutputFolder!),
            new BackgroundRemover(sp.GetRequiredService<MatteModel>()),
            sp.GetService<IFunctionCallLog>()));
        services.TryAddSingleton<IIdempotencyStore>(_ =>
        {
            string path = options.ResolvedStateDatabase;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            return new SqliteIdempotencyStore(path);
        });
        services.TryAddSingleton(sp => new IdempotencyGuard(
            sp.GetRequiredService<IIdempotencyStore>(),
            OwnerIdentity.Current.WithNewInstance().ToString(),
            new LocalProcessLiveness(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<InvokerOptions>().ClaimLease));
        services.TryAddSingleton(sp => new BackgroundRemovalRunner(
            sp.GetRequiredService<IJobFunction>(),
            sp.GetRequiredService<IdempotencyGuard>(),
            sp.GetRequiredService<InvokerOptions>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<BackgroundRemovalRunner>>() ?? NullLogger<BackgroundRemovalRunner>.Instance));
        return services;
    }
}
