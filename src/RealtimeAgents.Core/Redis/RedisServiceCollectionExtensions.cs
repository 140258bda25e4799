using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RealtimeAgents.Redis;

namespace RealtimeAgents.Core.Redis;

/// <summary>Registration of the Redis stores (distributed mode).</summary>
public static class RedisServiceCollectionExtensions
{
    /// <summary>
    /// Event log, task queue, control channel and task store on the Redis at
    /// <see cref="RedisStoreOptions.Configuration"/>. One <see cref="RedisClient"/> (multiplexed
    /// connection, subscriber connection, blocking pool) serves them all.
    /// </summary>
    public static IServiceCollection AddRedisStores(this IServiceCollection services, Action<RedisStoreOptions> configure)
    {
        services.Configure(configure);
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<RedisStoreOptions>>().Value;
            if (string.IsNullOrWhiteSpace(options.Configuration))
            {
                throw new InvalidOperationException("Redis mode needs a connection string (RealtimeAgents:Redis, e.g. localhost:6379).");
            }
            var redisOptions = RedisOptions.Parse(options.Configuration);
            redisOptions.ClientName ??= "realtime-agents";
            // Startup waits for Redis once; afterwards the client reconnects on its own.
            return RedisClient.ConnectAsync(redisOptions, sp.GetService<ILoggerFactory>()).GetAwaiter().GetResult();
        });
        services.TryAddSingleton(sp => new RedisKeys(sp.GetRequiredService<IOptions<RedisStoreOptions>>().Value.KeyPrefix));
        services.TryAddSingleton<IEventLog, RedisEventLog>();
        services.TryAddSingleton<ITaskQueue, RedisTaskQueue>();
        services.TryAddSingleton<IControlChannel, RedisControlChannel>();
        services.TryAddSingleton<ITaskStore, RedisTaskStore>();
        return services;
    }
}
