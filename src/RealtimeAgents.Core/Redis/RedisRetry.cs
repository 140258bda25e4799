using RealtimeAgents.Redis;

namespace RealtimeAgents.Core.Redis;

/// <summary>
/// Retries an idempotent Redis operation through a short outage (a restart, a failover): the
/// client reconnects by itself, but a command in flight when the connection dropped fails and
/// its effect is unknown, and a restarted server answers <c>-LOADING</c> until it has read its
/// data back. Only operations that are safe to repeat go through here.
/// </summary>
internal static class RedisRetry
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(15);

    public static async ValueTask<T> RunAsync<T>(Func<ValueTask<T>> operation, CancellationToken ct)
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

    private static bool IsTransient(Exception ex) =>
        ex is RedisConnectionException or RedisTimeoutException or RedisServerException { Prefix: "LOADING" };
}
