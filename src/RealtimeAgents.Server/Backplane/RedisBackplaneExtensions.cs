using Microsoft.AspNetCore.SignalR;
using RealtimeAgents.Redis;

namespace RealtimeAgents.Server.Backplane;

/// <summary>Registration of the Redis backplane.</summary>
public static class RedisBackplaneExtensions
{
    /// <summary>
    /// Scales SignalR out over Redis with the default options: the registered <see cref="RedisClient"/>
    /// is reused (there must be one).
    /// </summary>
    public static ISignalRServerBuilder AddRedisBackplane(this ISignalRServerBuilder signalR) =>
        AddRedisBackplane(signalR, _ => { });

    /// <summary>Scales SignalR out over the Redis at <paramref name="configuration"/> (a connection string).</summary>
    public static ISignalRServerBuilder AddRedisBackplane(this ISignalRServerBuilder signalR, string configuration) =>
        AddRedisBackplane(signalR, o => o.Configuration = configuration);

    /// <summary>
    /// Scales SignalR out over Redis: replaces the in-memory <c>HubLifetimeManager</c> with
    /// <see cref="RedisHubLifetimeManager{THub}"/> for every hub. With <see cref="RedisBackplaneOptions.UseExistingClient"/>
    /// (the default) a <see cref="RedisClient"/> registered in the container is shared; otherwise the backplane
    /// connects with <see cref="RedisBackplaneOptions.Configuration"/>.
    /// </summary>
    public static ISignalRServerBuilder AddRedisBackplane(this ISignalRServerBuilder signalR, Action<RedisBackplaneOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(signalR);
        ArgumentNullException.ThrowIfNull(configure);
        signalR.Services.Configure(configure);
        signalR.Services.AddSingleton(typeof(HubLifetimeManager<>), typeof(RedisHubLifetimeManager<>));
        return signalR;
    }
}
