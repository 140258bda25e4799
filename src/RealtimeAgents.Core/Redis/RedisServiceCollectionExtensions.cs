using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace RealtimeAgents.Core.Redis;

/// <summary>Registration of the Redis stores (distributed mode).</summary>
public static class RedisServiceCollectionExtensions
{
    /// <summary>Redis stores over a multiplexer the application already has (it stays the application's to dispose).</summary>
    public static IServiceCollection AddRedisStores(this IServiceCollection services, IConnectionMultiplexer multiplexer,
        Action<RedisStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(multiplexer);
        services.TryAddSingleton(multiplexer);
        return services.AddRedisStores(configure ?? (_ => { }));
    }

    /// <summary>Redis stores on the Redis at <paramref name="configuration"/> (a StackExchange.Redis configuration string).</summary>
    public static IServiceCollection AddRedisStores(this IServiceCollection services, string configuration) =>
        services.AddRedisStores(o => o.Configuration = configuration);

    /// <summary>Redis stores connected with <paramref name="configuration"/> (TLS, ACL user, Sentinel, cluster).</summary>
    public static IServiceCollection AddRedisStores(this IServiceCollection services, ConfigurationOptions configuration) =>
        services.AddRedisStores(o => o.ConfigurationOptions = configuration);

    /// <summary>
    /// Event log, task queue, control channel and task store on one <see cref="IConnectionMultiplexer"/>
    /// per process: the one registered in the container if there is one, else one connected from
    /// <see cref="RedisStoreOptions"/>. The SignalR backplane shares it.
    /// </summary>
    public static IServiceCollection AddRedisStores(this IServiceCollection services, Action<RedisStoreOptions> configure)
    {
        services.Configure(configure);
        services.TryAddSingleton<IConnectionMultiplexer>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<RedisStoreOptions>>().Value.ToConfigurationOptions();
            // Startup waits for the first connection attempt; afterwards the multiplexer reconnects on its own.
            return ConnectionMultiplexer.Connect(options);
        });
        services.TryAddSingleton(sp => new RedisKeys(sp.GetRequiredService<IOptions<RedisStoreOptions>>().Value.KeyPrefix));
        services.TryAddSingleton<IEventLog, RedisEventLog>();
        services.TryAddSingleton<ITaskQueue, RedisTaskQueue>();
        services.TryAddSingleton<IControlChannel, RedisControlChannel>();
        services.TryAddSingleton<ITaskStore, RedisTaskStore>();
        return services;
    }
}
