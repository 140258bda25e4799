using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;

namespace RealtimeAgents.Core.InMemory;

/// <summary>
/// Task and thread metadata in process memory. Ended tasks are dropped once they are older
/// than <see cref="EventLogOptions.TerminalTtl"/> (their streams are gone by then too).
/// </summary>
public sealed class InMemoryTaskStore : ITaskStore
{
    private readonly object _gate = new();
    private readonly Dictionary<string, TaskRecord> _tasks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ThreadState> _threads = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Owner, string Key), string> _idempotency = [];
    private readonly Dictionary<string, HashSet<string>> _activeByOwner = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _threadsByOwner = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly TimeSpan _retention;
    private long _lastSweep;

    /// <summary>Creates the store.</summary>
    public InMemoryTaskStore(IOptions<EventLogOptions> logOptions, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _retention = logOptions.Value.TerminalTtl;
    }

    /// <inheritdoc />
    public ValueTask<TaskCreation> CreateAsync(TaskRecord task, OwnerLimits limits = default, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            Sweep();
            if (task.IdempotencyKey is { } key &&
                _idempotency.TryGetValue((task.Owner, key), out var existingId) &&
                _tasks.TryGetValue(existingId, out var existing))
            {
                return ValueTask.FromResult(new TaskCreation(existing, Created: false));
            }
            if (_tasks.ContainsKey(task.TaskId)) throw new InvalidOperationException($"task {task.TaskId} exists");
            bool newThread = !_threads.TryGetValue(task.ThreadId, out var thread);
            if (newThread && limits.MaxThreads > 0 && _threadsByOwner.GetValueOrDefault(task.Owner) >= limits.MaxThreads)
            {
                return ValueTask.FromResult(new TaskCreation(task, Created: false, CreationRefusal.TooManyThreads));
            }
            _activeByOwner.TryGetValue(task.Owner, out var active);
            if (limits.MaxActiveTasks > 0 && active?.Count >= limits.MaxActiveTasks)
            {
                return ValueTask.FromResult(new TaskCreation(task, Created: false, CreationRefusal.TooManyActiveTasks));
            }
            _tasks[task.TaskId] = task;
            if (task.IdempotencyKey is { } k) _idempotency[(task.Owner, k)] = task.TaskId;
            if (!TaskStates.IsTerminal(task.Status))
            {
                if (active is null) _activeByOwner[task.Owner] = active = new(StringComparer.Ordinal);
                active.Add(task.TaskId);
            }
            if (newThread)
            {
                _threads[task.ThreadId] = thread = new ThreadState(task.Owner);
                _threadsByOwner[task.Owner] = _threadsByOwner.GetValueOrDefault(task.Owner) + 1;
            }
            thread!.Agent = task.Agent;
            thread.Shares = task.Shares;
            thread.TaskIds.Add(task.TaskId);
            return ValueTask.FromResult(new TaskCreation(task, Created: true));
        }
    }

    /// <inheritdoc />
    public ValueTask<TaskRecord?> GetAsync(string taskId, CancellationToken cancellationToken = default)
    {
        lock (_gate) return ValueTask.FromResult(_tasks.GetValueOrDefault(taskId));
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<TaskRecord>> GetManyAsync(IReadOnlyList<string> taskIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        var found = new List<TaskRecord>(taskIds.Count);
        lock (_gate)
        {
            foreach (var id in taskIds)
            {
                if (_tasks.TryGetValue(id, out var task)) found.Add(task);
            }
        }
        return ValueTask.FromResult<IReadOnlyList<TaskRecord>>(found);
    }

    /// <inheritdoc />
    public ValueTask<TaskRecord?> UpdateAsync(string taskId, TaskUpdate update, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (!_tasks.TryGetValue(taskId, out var task)) return ValueTask.FromResult<TaskRecord?>(null);
            task = task with
            {
                Status = update.Status ?? task.Status,
                Attempt = update.Attempt ?? task.Attempt,
                StartedAt = update.StartedAt ?? task.StartedAt,
                EndedAt = update.EndedAt ?? task.EndedAt,
            };
            _tasks[taskId] = task;
            if (TaskStates.IsTerminal(task.Status)) ForgetActive(task);
            return ValueTask.FromResult<TaskRecord?>(task);
        }
    }

    /// <inheritdoc />
    public ValueTask<ThreadRecord?> GetThreadAsync(string threadId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_threads.TryGetValue(threadId, out var t)
                ? new ThreadRecord(threadId, t.Owner, t.Agent, [.. t.TaskIds], t.Shares)
                : null);
        }
    }

    private void Sweep()
    {
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (now - _lastSweep < 60_000) return;
        _lastSweep = now;
        long cutoff = now - (long)_retention.TotalMilliseconds;
        var gone = _tasks.Values.Where(t => TaskStates.IsTerminal(t.Status) && t.EndedAt < cutoff).ToList();
        foreach (var task in gone)
        {
            _tasks.Remove(task.TaskId);
            ForgetActive(task);
            if (task.IdempotencyKey is { } key) _idempotency.Remove((task.Owner, key));
            if (_threads.TryGetValue(task.ThreadId, out var thread))
            {
                thread.TaskIds.Remove(task.TaskId);
                if (thread.TaskIds.Count == 0)
                {
                    _threads.Remove(task.ThreadId);
                    if ((_threadsByOwner[thread.Owner] -= 1) == 0) _threadsByOwner.Remove(thread.Owner);
                }
            }
        }
    }

    private void ForgetActive(TaskRecord task)
    {
        if (_activeByOwner.TryGetValue(task.Owner, out var active) && active.Remove(task.TaskId) && active.Count == 0)
        {
            _activeByOwner.Remove(task.Owner);
        }
    }

    private sealed class ThreadState(string owner)
    {
        public string Owner { get; } = owner;
        public string Agent { get; set; } = "";
        public TaskShares Shares { get; set; } = TaskShares.None;
        public List<string> TaskIds { get; } = [];
    }
}
