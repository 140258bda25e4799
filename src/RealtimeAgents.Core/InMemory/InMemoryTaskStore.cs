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
    public ValueTask<TaskCreation> CreateAsync(TaskRecord task, CancellationToken cancellationToken = default)
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
            _tasks[task.TaskId] = task;
            if (task.IdempotencyKey is { } k) _idempotency[(task.Owner, k)] = task.TaskId;
            if (!_threads.TryGetValue(task.ThreadId, out var thread))
            {
                _threads[task.ThreadId] = thread = new ThreadState(task.Owner);
            }
            thread.Agent = task.Agent;
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
            return ValueTask.FromResult<TaskRecord?>(task);
        }
    }

    /// <inheritdoc />
    public ValueTask<ThreadRecord?> GetThreadAsync(string threadId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_threads.TryGetValue(threadId, out var t)
                ? new ThreadRecord(threadId, t.Owner, t.Agent, [.. t.TaskIds])
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
            if (task.IdempotencyKey is { } key) _idempotency.Remove((task.Owner, key));
            if (_threads.TryGetValue(task.ThreadId, out var thread))
            {
                thread.TaskIds.Remove(task.TaskId);
                if (thread.TaskIds.Count == 0) _threads.Remove(task.ThreadId);
            }
        }
    }

    private sealed class ThreadState(string owner)
    {
        public string Owner { get; } = owner;
        public string Agent { get; set; } = "";
        public List<string> TaskIds { get; } = [];
    }
}
