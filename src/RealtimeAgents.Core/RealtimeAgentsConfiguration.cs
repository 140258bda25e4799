using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using RealtimeAgents.Core.Redis;
using RealtimeAgents.Core.Relay;
using RealtimeAgents.Core.Runtime;

namespace RealtimeAgents.Core;

/// <summary>
/// Binds the "RealtimeAgents" configuration section the same way in the server and the worker,
/// and chooses the stores: Redis when <c>RealtimeAgents:Redis</c> is set (e.g. the environment
/// variable <c>RealtimeAgents__Redis=localhost:6379</c>), in memory otherwise.
/// </summary>
public static class RealtimeAgentsConfiguration
{
    /// <summary>Core services, options from <paramref name="section"/>, and the stores. Returns true in Redis mode.</summary>
    public static bool AddRealtimeAgents(this IServiceCollection services, IConfiguration section)
    {
        services.AddRealtimeAgentsCore();
        services.Configure<TaskOptions>(section.GetSection("Tasks"));
        services.Configure<EventLogOptions>(section.GetSection("EventLog"));
        services.Configure<TaskQueueOptions>(section.GetSection("Queue"));
        services.Configure<RelayOptions>(section.GetSection("Relay"));
        services.Configure<WorkerOptions>(section.GetSection("Worker"));
        string? redis = section["Redis"];
        bool ownMultiplexer = services.Any(d => d.ServiceType == typeof(StackExchange.Redis.IConnectionMultiplexer));
        if (string.IsNullOrWhiteSpace(redis) && !ownMultiplexer)
        {
            services.AddInMemoryStores();
            return false;
        }
        services.AddRedisStores(o =>
        {
            o.Configuration = redis ?? "";
            o.KeyPrefix = section["RedisKeyPrefix"] ?? o.KeyPrefix;
            o.TlsCaFile = section["RedisTlsCaFile"];
        });
        services.AddRedisAgentStateStores();
        return true;
    }

    /// <summary>
    /// Thread state and approvals on the Redis of <c>AddRedisStores</c> (kept apart from it so the
    /// Redis stores can be swapped without touching these).
    /// </summary>
    public static IServiceCollection AddRedisAgentStateStores(this IServiceCollection services)
    {
        services.TryAddSingleton<IThreadStateStore, RedisThreadStateStore>();
        services.TryAddSingleton<IApprovalStore, RedisApprovalStore>();
        return services;
    }
}
