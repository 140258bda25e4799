using RealtimeAgents.Core.Observability;
using RealtimeAgents.Redis;

namespace RealtimeAgents.Core.Redis;

/// <summary>
/// What the Redis task queue holds: the workers group's lag (entries not yet delivered to any
/// worker) and the age of the first of them, from its stream id's milliseconds (the enqueue time).
/// </summary>
public sealed class RedisTaskQueueStats(RedisClient redis, RedisKeys keys) : ITaskQueueStats
{
    /// <inheritdoc />
    public async ValueTask<TaskQueueStats> GetStatsAsync(CancellationToken cancellationToken)
    {
        RedisReply groups;
        try
        {
            groups = await redis.ExecuteAsync("XINFO", ["GROUPS", keys.Queue], cancellationToken).ConfigureAwait(false);
        }
        catch (RedisServerException)
        {
            return new TaskQueueStats(0, TimeSpan.Zero); // no queue yet
        }
        if (groups.IsError) return new TaskQueueStats(0, TimeSpan.Zero);
        foreach (var group in groups.Elements)
        {
            var fields = group.AsPairs().ToDictionary(p => p.Key.AsString()!, p => p.Value, StringComparer.Ordinal);
            if (fields["name"].AsString() != RedisKeys.QueueGroup) continue;
            long depth = fields.TryGetValue("lag", out var lag) && !lag.IsNull ? lag.AsInt64() : 0;
            string lastDelivered = fields["last-delivered-id"].AsString()!;
            var next = await redis.ExecuteAsync("XRANGE", [keys.Queue, "(" + lastDelivered, "+", "COUNT", 1], cancellationToken)
                .ConfigureAwait(false);
            if (next.Elements.Count == 0) return new TaskQueueStats(depth, TimeSpan.Zero);
            string id = next[0][0].AsString()!;
            long enqueuedMs = long.Parse(id.AsSpan(0, id.IndexOf('-', StringComparison.Ordinal)), System.Globalization.CultureInfo.InvariantCulture);
            return new TaskQueueStats(Math.Max(depth, 1), TimeSpan.FromMilliseconds(Math.Max(0, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - enqueuedMs)));
        }
        return new TaskQueueStats(0, TimeSpan.Zero);
    }
}
