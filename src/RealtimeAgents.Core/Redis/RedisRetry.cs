using StackExchange.Redis;

namespace RealtimeAgents.Core.Redis;

/// <summary>
/// Retries an idempotent Redis operation through a short outage (a restart, a failover): the
/// multiplexer reconnects by itself, but a command in flight when the connection dropped fails
/// and its effect is unknown, a restarted server answers <c>-LOADING</c> until it has read its
/// data back, and a cluster answers <c>-CLUSTERDOWN</c> / <c>-TRYAGAIN</c> while a replica is
/// being promoted. Only operations that are safe to repeat go through here.
/// </summary>
internal static class RedisRetry
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(15);

    public static async Task<T> RunAsync<T>(Func<Task<T>> operation, CancellationToken ct)
    {
        var started = DateTime.UtcNow;
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return await operation().ConfigureAwait(false);
            }
            catch (Exception ex) when (IsTransient(ex) && DateTime.UtcNow - started < Budget)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 50 << Math.Min(attempt, 5))), ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Whether <paramref name="ex"/> says Redis is (for now) out of reach rather than that the command is wrong.</summary>
    public static bool IsTransient(Exception ex) => ex switch
    {
        RedisConnectionException or RedisTimeoutException => true,
        RedisServerException server => server.Message.StartsWith("LOADING", StringComparison.Ordinal)
            || server.Message.StartsWith("CLUSTERDOWN", StringComparison.Ordinal)
            || server.Message.StartsWith("TRYAGAIN", StringComparison.Ordinal)
            || server.Message.StartsWith("MASTERDOWN", StringComparison.Ordinal)
            || server.Message.StartsWith("READONLY", StringComparison.Ordinal),
        _ => false,
    };
}
