using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace RealtimeAgents.Core.Redis;

/// <summary>
/// The task queue as a Redis Stream with a consumer group. A dequeue first reclaims an entry
/// whose holder has been silent past the visibility timeout (XAUTOCLAIM, which counts the
/// delivery, so the attempt is XPENDING's delivery count), then reads new ones (XREADGROUP) up to
/// the number asked for. A heartbeat resets the entry's idle time only while the caller still
/// holds it; completing acknowledges and deletes the entry; releasing marks it idle past the
/// timeout so the next dequeue anywhere takes it.
/// </summary>
/// <remarks>
/// Waiting without blocking: StackExchange.Redis multiplexes every caller over one connection, so
/// it does not run blocking commands such as <c>XREADGROUP BLOCK</c> (one would stall everybody's
/// commands behind it). Instead enqueue.lua publishes on a sharded wake-up channel in the queue's
/// slot in the same step as its XADD, and an idle dequeue reads (non-blocking), then waits for
/// that wake-up: a new task is picked up one pub/sub hop after it was added, with no polling
/// while the queue is quiet. A wake-up can be lost (the subscriber reconnecting), so a wait
/// never outlasts the caller's <c>maxWait</c>; the worker then dequeues again, which is also
/// when it looks for entries to reclaim. Every idle worker is woken and all but one read
/// nothing: one cheap XREADGROUP per worker per task, not a herd worth avoiding at these rates.
/// </remarks>
public sealed class RedisTaskQueue : ITaskQueue, IDisposable
{
    private readonly IConnectionMultiplexer _redis;
    private readonly IDatabase _db;
    private readonly RedisKeys _keys;
    private readonly long _visibilityMs;
    private readonly SemaphoreSlim _wakeGate = new(1, 1);
    private ChannelMessageQueue? _wake;
    private TaskCompletionSource _wakeSignal = NewSignal();
    private volatile bool _groupReady;

    /// <summary>Creates the queue over a multiplexer.</summary>
    public RedisTaskQueue(IConnectionMultiplexer redis, RedisKeys keys, IOptions<TaskQueueOptions> options)
    {
        _redis = redis;
        _db = redis.GetDatabase();
        _keys = keys;
        _visibilityMs = (long)options.Value.VisibilityTimeout.TotalMilliseconds;
        // After a reconnect a wake-up may have been missed: look again.
        _redis.ConnectionRestored += OnConnectionRestored;
    }

    /// <inheritdoc />
    public async ValueTask EnqueueAsync(string taskId, CancellationToken cancellationToken = default)
    {
        await EnsureGroupAsync().ConfigureAwait(false);
        await RedisScripts.Enqueue.EvaluateAsync(_db, [_keys.Queue], [_keys.QueueWake, taskId]).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<TaskLease>> DequeueAsync(string consumer, int max, TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        await EnsureGroupAsync().ConfigureAwait(false);
        await EnsureWakeSubscriptionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var deadline = DateTime.UtcNow + maxWait;
            while (true)
            {
                // Take the signal before reading: a wake-up that arrives after an empty read
                // completes this one, so it cannot slip between the read and the wait.
                var signal = Volatile.Read(ref _wakeSignal).Task;
                var leases = await TakeAsync(consumer, max).ConfigureAwait(false);
                if (leases.Count > 0) return leases;
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return [];
                try
                {
                    await signal.WaitAsync(left, cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    return [];
                }
            }
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
        {
            // The queue was lost (a Redis without persistence restarted): make it again.
            _groupReady = false;
            await EnsureGroupAsync().ConfigureAwait(false);
            return [];
        }
    }

    // An expired lease first (XAUTOCLAIM), then new entries (XREADGROUP) up to the rest of max.
    // Both go out together, one round trip for a whole batch: the read asks for max, and in the
    // rare case that the claim found a lease too, the surplus new entry is handed back at once
    // (as at shutdown: it counts as a delivery) for the next dequeue of any worker. The claim
    // asks for one lease: XAUTOCLAIM scans ten pending entries per lease asked for, and for a
    // batch of 64 that is every running task's entry on each dequeue, looking for leases that
    // rarely expire. An entry whose task field is gone (trimmed) is acknowledged and skipped.
    private async Task<List<TaskLease>> TakeAsync(string consumer, int max)
    {
        var claiming = _db.StreamAutoClaimAsync(_keys.Queue, RedisKeys.QueueGroup, consumer, _visibilityMs, "0-0", 1);
        var reading = _db.StreamReadGroupAsync(_keys.Queue, RedisKeys.QueueGroup, consumer, StreamPosition.NewMessages, max);
        await Task.WhenAll(claiming, reading).ConfigureAwait(false);
        var leases = new List<TaskLease>();
        foreach (var entry in claiming.Result.ClaimedEntries)
        {
            if (entry.IsNull || entry["task"] is { IsNull: true })
            {
                await _db.StreamAcknowledgeAsync(_keys.Queue, RedisKeys.QueueGroup, entry.Id).ConfigureAwait(false);
                continue;
            }
            var pending = await _db.StreamPendingMessagesAsync(_keys.Queue, RedisKeys.QueueGroup, 1, RedisValue.Null, entry.Id, entry.Id)
                .ConfigureAwait(false);
            int deliveries = pending.Length > 0 ? pending[0].DeliveryCount : 2;
            leases.Add(new TaskLease((string)entry["task"]!, (string)entry.Id!, deliveries, consumer));
        }
        foreach (var entry in reading.Result)
        {
            if (entry["task"] is not { IsNull: false } task)
            {
                await _db.StreamAcknowledgeAsync(_keys.Queue, RedisKeys.QueueGroup, entry.Id).ConfigureAwait(false);
                continue;
            }
            var lease = new TaskLease((string)task!, (string)entry.Id!, 1, consumer);
            if (leases.Count < max) leases.Add(lease);
            else await ReleaseAsync(lease).ConfigureAwait(false);
        }
        return leases;
    }

    /// <inheritdoc />
    public async ValueTask RenewAsync(TaskLease lease, CancellationToken cancellationToken = default) =>
        await RedisScripts.RenewLease.EvaluateAsync(_db, [_keys.Queue], [RedisKeys.QueueGroup, lease.LeaseId, lease.Consumer])
            .ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask CompleteAsync(TaskLease lease, CancellationToken cancellationToken = default)
    {
        await RedisRetry.RunAsync(() => _db.StreamAcknowledgeAsync(_keys.Queue, RedisKeys.QueueGroup, lease.LeaseId), cancellationToken)
            .ConfigureAwait(false);
        await RedisRetry.RunAsync(() => _db.StreamDeleteAsync(_keys.Queue, [lease.LeaseId]), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask ReleaseAsync(TaskLease lease, CancellationToken cancellationToken = default) =>
        // XCLAIM with IDLE has no typed API: the key is passed as a RedisKey so a cluster routes it.
        await _db.ExecuteAsync("XCLAIM", [(RedisKey)_keys.Queue, RedisKeys.QueueGroup, lease.Consumer, 0, lease.LeaseId,
            "IDLE", _visibilityMs + 1000, "JUSTID"]).ConfigureAwait(false);

    private async Task EnsureGroupAsync()
    {
        if (_groupReady) return;
        try
        {
            await _db.StreamCreateConsumerGroupAsync(_keys.Queue, RedisKeys.QueueGroup, "0", createStream: true).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
        }
        _groupReady = true;
    }

    private async Task EnsureWakeSubscriptionAsync(CancellationToken ct)
    {
        if (Volatile.Read(ref _wake) is not null) return;
        await _wakeGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_wake is not null) return;
            var queue = await _redis.GetSubscriber().SubscribeAsync(RedisChannel.Sharded(_keys.QueueWake)).ConfigureAwait(false);
            queue.OnMessage(_ => Wake());
            Volatile.Write(ref _wake, queue);
        }
        finally
        {
            _wakeGate.Release();
        }
    }

    private void Wake() => Interlocked.Exchange(ref _wakeSignal, NewSignal()).TrySetResult();

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) => Wake();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <inheritdoc />
    public void Dispose()
    {
        _redis.ConnectionRestored -= OnConnectionRestored;
        _wake?.Unsubscribe(CommandFlags.FireAndForget);
        _wakeGate.Dispose();
    }
}
