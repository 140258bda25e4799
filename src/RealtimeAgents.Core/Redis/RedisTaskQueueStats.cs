using RealtimeAgents.Core.Observability;
using StackExchange.Redis;

namespace RealtimeAgents.Core.Redis;

/// <summary>
/// What the Redis task queue holds: the workers group's lag (entries not yet delivered to any
/// worker) and the age of the first of them, from its stream id's milliseconds (the enqueue time).
/// The multiplexer queues commands while disconnected: each wait is bounded by the caller's token.
/// </summary>
public sealed class RedisTaskQueueStats(IConnectionMultiplexer redis, RedisKeys keys) : ITaskQueueStats
{
    /// <inheritdoc />
    public async ValueTask<TaskQueueStats> GetStatsAsync(CancellationToken cancellationToken)
    {
        var db = redis.GetDatabase();
        StreamGroupInfo[] groups;
        try
        {
            groups = await db.StreamGroupInfoAsync(keys.Queue).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (RedisServerException)
        {
            return new TaskQueueStats(0, TimeSpan.Zero); // no queue yet
        }
        foreach (var group in groups)
        {
            if (group.Name != RedisKeys.QueueGroup) continue;
            long depth = group.Lag ?? 0;
            var next = await db.StreamRangeAsync(keys.Queue, "(" + group.LastDeliveredId, "+", 1).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (next.Length == 0) return new TaskQueueStats(depth, TimeSpan.Zero);
            string id = (string)next[0].Id!;
            long enqueuedMs = long.Parse(id.AsSpan(0, id.IndexOf('-', StringComparison.Ordinal)), System.Globalization.CultureInfo.InvariantCulture);
            return new TaskQueueStats(Math.Max(depth, 1), TimeSpan.FromMilliseconds(Math.Max(0, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - enqueuedMs)));
        }
        return new TaskQueueStats(0, TimeSpan.Zero);
    }
}
