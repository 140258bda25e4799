using RealtimeAgents.Core.Observability;
using StackExchange.Redis;

namespace RealtimeAgents.Core.Redis;

/// <summary>Redis is reachable when the process's multiplexer is connected and answers PING.</summary>
public sealed class RedisStoreHealth(IConnectionMultiplexer redis) : IStoreHealth
{
    /// <inheritdoc />
    public async ValueTask<bool> IsReachableAsync(CancellationToken cancellationToken)
    {
        // A multiplexer that lost its connection queues commands until it is back: answer at once.
        if (!redis.IsConnected) return false;
        try
        {
            await redis.GetDatabase().PingAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
