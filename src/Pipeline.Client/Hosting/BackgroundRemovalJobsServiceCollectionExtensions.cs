using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Pipeline.Client;
using Pipeline.Client.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

public static class BackgroundRemovalJobsServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IBackgroundRemovalJobs"/> with options bound from <paramref name="section"/> (e.g.
    /// <c>configuration.GetSection("BackgroundRemovalJobs")</c>), validated when the host starts.
    /// </summary>
    public static IServiceCollection AddBackgroundRemovalJobs(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        services.AddOptions<BackgroundRemovalJobsOptions>().Bind(section).ValidateOnStart();
        return AddCore(services);
    }

    /// <summary>Registers <see cref="IBackgroundRemovalJobs"/> with options set in code, validated when the host starts.</summary>
    public static IServiceCollection AddBackgroundRemovalJobs(this IServiceCollection services, Action<BackgroundRemovalJobsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<BackgroundRemovalJobsOptions>().Configure(configure).ValidateOnStart();
        return AddCore(services);
    }

    private static IServiceCollection AddCore(IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BackgroundRemovalJobsOptions>, BackgroundRemovalJobsOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IBackgroundRemovalJobs, BackgroundRemovalJobs>();
        return services;
    }
}
