using Microsoft.Extensions.Options;

namespace RealtimeAgents.Core.InMemory;

/// <summary>
/// The task queue in process memory: a FIFO of new entries plus a table of leases, each with an
/// expiry a heartbeat pushes out. Dequeue reclaims an expired lease before taking a new entry,
/// like XAUTOCLAIM before XREADGROUP on the Redis queue.
/// </summary>
public sealed class InMemoryTaskQueue : ITaskQueue, Observability.ITaskQueueStats
{
    private readonly object _gate = new();
    private readonly LinkedList<Entry> _ready = new();
    private readonly Dictionary<string, Lease> _leases = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _signal = new(0);
    private readonly TaskQueueOptions _options;
    private readonly TimeProvider _time;
    private long _nextId;

    /// <summary>Creates the queue.</summary>
    public InMemoryTaskQueue(IOptions<TaskQueueOptions> options, TimeProvider? time = null)
    {
        _options = options.Value;
        _time = time ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public ValueTask EnqueueAsync(string taskId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _ready.AddLast(new Entry($"{_time.GetUtcNow().ToUnixTimeMilliseconds()}-{++_nextId}", taskId, 0));
        }
        _signal.Release();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<Observability.TaskQueueStats> GetStatsAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_ready.First is not { } first) return ValueTask.FromResult(new Observability.TaskQueueStats(0, TimeSpan.Zero));
            long enqueuedMs = long.Parse(first.Value.Id.AsSpan(0, first.Value.Id.IndexOf('-')), System.Globalization.CultureInfo.InvariantCulture);
            return ValueTask.FromResult(new Observability.TaskQueueStats(_ready.Count,
                TimeSpan.FromMilliseconds(Math.Max(0, _time.GetUtcNow().ToUnixTimeMilliseconds() - enqueuedMs))));
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<TaskLease>> DequeueAsync(string consumer, int max, TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        long deadline = _time.GetTimestamp() + (long)(maxWait.TotalSeconds * _time.TimestampFrequency);
        while (true)
        {
            var leases = new List<TaskLease>();
            TimeSpan? nextExpiry;
            while (TryTake(consumer, out nextExpiry) is { } lease)
            {
                leases.Add(lease);
                if (leases.Count == max) break;
            }
            if (leases.Count > 0) return leases;
            var left = _time.GetElapsedTime(_time.GetTimestamp(), deadline);
            if (left <= TimeSpan.Zero) return [];
            // Wake for a new entry, or when the earliest lease may have expired.
            var wait = nextExpiry is { } e && e < left ? e : left;
            await _signal.WaitAsync(wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait,
                cancellationToken).ConfigureAwait(false);
        }
    }

    private TaskLease? TryTake(string consumer, out TimeSpan? nextExpiry)
    {
        nextExpiry = null;
        long now = _time.GetUtcNow().UtcTicks;
        lock (_gate)
        {
            foreach (var lease in _leases.Values)
            {
                if (lease.ExpiresAt <= now)
                {
                    lease.Deliveries++;
                    lease.Consumer = consumer;
                    lease.ExpiresAt = now + _options.VisibilityTimeout.Ticks;
                    return lease.ToLease();
                }
                var untilExpiry = TimeSpan.FromTicks(lease.ExpiresAt - now);
                if (nextExpiry is null || untilExpiry < nextExpiry) nextExpiry = untilExpiry;
            }
            var first = _ready.First;
            if (first is null) return null;
            _ready.RemoveFirst();
            var taken = new Lease(first.Value.Id, first.Value.TaskId)
            {
                Deliveries = first.Value.Deliveries + 1,
                Consumer = consumer,
                ExpiresAt = now + _options.VisibilityTimeout.Ticks,
            };
            _leases[taken.Id] = taken;
            return taken.ToLease();
        }
    }

    /// <inheritdoc />
    public ValueTask RenewAsync(TaskLease lease, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_leases.TryGetValue(lease.LeaseId, out var held) && held.Consumer == lease.Consumer)
            {
                held.ExpiresAt = _time.GetUtcNow().UtcTicks + _options.VisibilityTimeout.Ticks;
            }
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask CompleteAsync(TaskLease lease, CancellationToken cancellationToken = default)
    {
        lock (_gate) _leases.Remove(lease.LeaseId);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask ReleaseAsync(TaskLease lease, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_leases.Remove(lease.LeaseId, out var held))
            {
                _ready.AddFirst(new Entry(held.Id, held.TaskId, held.Deliveries));
            }
        }
        _signal.Release();
        return ValueTask.CompletedTask;
    }

    private sealed record Entry(string Id, string TaskId, int Deliveries);

    private sealed class Lease(string id, string taskId)
    {
        public string Id { get; } = id;
        public string TaskId { get; } = taskId;
        public int Deliveries { get; set; }
        public string Consumer { get; set; } = "";
        public long ExpiresAt { get; set; }
        public TaskLease ToLease() => new(TaskId, Id, Deliveries, Consumer);
    }
}
