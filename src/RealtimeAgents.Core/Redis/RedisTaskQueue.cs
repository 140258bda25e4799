using Microsoft.Extensions.Options;
using RealtimeAgents.Redis;

namespace RealtimeAgents.Core.Redis;

/// <summary>
/// The task queue as a Redis Stream with a consumer group. A dequeue first reclaims an entry
/// whose holder has been silent past the visibility timeout (XAUTOCLAIM, which counts the
/// delivery, so the attempt is XPENDING's delivery count), else waits for a new one with a
/// blocking XREADGROUP on a dedicated connection. A heartbeat resets the entry's idle time only
/// while the caller still holds it; completing acknowledges and deletes the entry; releasing
/// marks it idle past the timeout so the next dequeue anywhere takes it.
/// </summary>
public sealed class RedisTaskQueue(RedisClient redis, RedisKeys keys, IOptions<TaskQueueOptions> options) : ITaskQueue
{
    private readonly long _visibilityMs = (long)options.Value.VisibilityTimeout.TotalMilliseconds;
    private volatile bool _groupReady;

    /// <inheritdoc />
    public async ValueTask EnqueueAsync(string taskId, CancellationToken cancellationToken = default)
    {
        await EnsureGroupAsync(cancellationToken).ConfigureAwait(false);
        await redis.XAddAsync(keys.Queue, [new("task", taskId)], cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<TaskLease?> DequeueAsync(string consumer, TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        await EnsureGroupAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await TakeAsync(consumer, maxWait, cancellationToken).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Prefix == "NOGROUP")
        {
            // The queue was lost (a Redis without persistence restarted): make it again.
            _groupReady = false;
            await EnsureGroupAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }
    }

    private async ValueTask<TaskLease?> TakeAsync(string consumer, TimeSpan maxWait, CancellationToken ct)
    {
        var claim = await redis.XAutoClaimAsync(keys.Queue, RedisKeys.QueueGroup, consumer, _visibilityMs, "0-0", 1,
            cancellationToken: ct).ConfigureAwait(false);
        foreach (var entry in claim.Claimed)
        {
            if (entry.IsDeleted || entry.GetString("task") is not { } claimedTask)
            {
                await redis.XAckAsync(keys.Queue, RedisKeys.QueueGroup, entry.Id, ct).ConfigureAwait(false);
                continue;
            }
            var pending = await redis.XPendingRangeAsync(keys.Queue, RedisKeys.QueueGroup, 1, entry.Id, entry.Id,
                cancellationToken: ct).ConfigureAwait(false);
            int deliveries = pending.Count > 0 ? (int)pending[0].DeliveryCount : 2;
            return new TaskLease(claimedTask, entry.Id, deliveries, consumer);
        }
        int blockMs = (int)Math.Clamp(maxWait.TotalMilliseconds, 1, int.MaxValue);
        var fresh = await redis.XReadGroupBlockingAsync(RedisKeys.QueueGroup, consumer, keys.Queue, ">", 1, blockMs,
            cancellationToken: ct).ConfigureAwait(false);
        foreach (var entry in fresh)
        {
            if (entry.GetString("task") is { } taskId) return new TaskLease(taskId, entry.Id, 1, consumer);
            await redis.XAckAsync(keys.Queue, RedisKeys.QueueGroup, entry.Id, ct).ConfigureAwait(false);
        }
        return null;
    }

    /// <inheritdoc />
    public async ValueTask RenewAsync(TaskLease lease, CancellationToken cancellationToken = default) =>
        await redis.EvaluateAsync(RedisScripts.RenewLease, [keys.Queue], [RedisKeys.QueueGroup, lease.LeaseId, lease.Consumer],
            cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask CompleteAsync(TaskLease lease, CancellationToken cancellationToken = default)
    {
        await RedisRetry.RunAsync(() => redis.XAckAsync(keys.Queue, RedisKeys.QueueGroup, lease.LeaseId, cancellationToken), cancellationToken)
            .ConfigureAwait(false);
        await RedisRetry.RunAsync(() => redis.XDelAsync(keys.Queue, lease.LeaseId, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask ReleaseAsync(TaskLease lease, CancellationToken cancellationToken = default) =>
        await redis.ExecuteAsync("XCLAIM", [keys.Queue, RedisKeys.QueueGroup, lease.Consumer, 0, lease.LeaseId,
            "IDLE", _visibilityMs + 1000, "JUSTID"], cancellationToken).ConfigureAwait(false);

    private async ValueTask EnsureGroupAsync(CancellationToken ct)
    {
        if (_groupReady) return;
        await redis.XGroupCreateAsync(keys.Queue, RedisKeys.QueueGroup, "0", createStream: true, cancellationToken: ct).ConfigureAwait(false);
        _groupReady = true;
    }
}
