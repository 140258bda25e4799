using Microsoft.Extensions.Logging;
using RealtimeAgents.Redis;

namespace RealtimeAgents.Server.Backplane;

/// <summary>Options of the Redis SignalR backplane (<see cref="RedisHubLifetimeManager{THub}"/>).</summary>
public sealed class RedisBackplaneOptions
{
    /// <summary>
    /// Reuse the <see cref="RedisClient"/> registered in the container when there is one (the server
    /// registers one in Redis mode), so the backplane shares its connections. Default true. When false,
    /// or when none is registered, the backplane connects with <see cref="Configuration"/>.
    /// </summary>
    public bool UseExistingClient { get; set; } = true;

    /// <summary>A connection string for <see cref="RedisOptions.Parse"/>, e.g. <c>localhost:6379</c>.</summary>
    public string? Configuration { get; set; }

    /// <summary>
    /// Put in front of every channel name, so several deployments (or tests) can share one Redis.
    /// Channels are <c>{ChannelPrefix}{hub type}:...</c>; see <c>RedisBackplaneChannels</c>.
    /// </summary>
    public string ChannelPrefix { get; set; } = string.Empty;

    /// <summary>
    /// How long AddToGroupAsync / RemoveFromGroupAsync wait for the node that owns a remote connection
    /// to confirm. Past it they throw <see cref="TimeoutException"/>. Default 5 s.
    /// </summary>
    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Test hook: creates the client instead of <see cref="UseExistingClient"/> / <see cref="Configuration"/>.
    /// The backplane disposes a client it created (through this hook or from <see cref="Configuration"/>)
    /// and never one it took from the container.
    /// </summary>
    public Func<ILoggerFactory, CancellationToken, Task<RedisClient>>? ClientFactory { get; set; }
}
