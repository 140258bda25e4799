using RealtimeAgents.Core.Observability;
using RealtimeAgents.Redis;

namespace RealtimeAgents.Core.Redis;

/// <summary>Redis is reachable when it answers PING on the process's shared connection.</summary>
public sealed class RedisStoreHealth(RedisClient redis) : IStoreHealth
{
    /// <inheritdoc />
    public async ValueTask<bool> IsReachableAsync(CancellationToken cancellationToken)
    {
        try
        {
            await redis.PingAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
