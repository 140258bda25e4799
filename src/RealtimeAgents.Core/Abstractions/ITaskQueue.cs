namespace RealtimeAgents.Core;

/// <summary>
/// Hands tasks to workers at least once. A lease that its holder stops renewing for longer than
/// the visibility timeout is handed to another worker with <see cref="TaskLease.Attempt"/> one
/// higher; a completed lease is never handed out again.
/// </summary>
public interface ITaskQueue
{
    /// <summary>Adds a task for some worker to run.</summary>
    ValueTask EnqueueAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The next task for <paramref name="consumer"/>: an expired lease first (reclaimed), else a
    /// new entry; waits up to <paramref name="maxWait"/> and returns null when there is none.
    /// </summary>
    ValueTask<TaskLease?> DequeueAsync(string consumer, TimeSpan maxWait, CancellationToken cancellationToken = default);

    /// <summary>Heartbeat: the holder is alive; pushes the lease's expiry out again.</summary>
    ValueTask RenewAsync(TaskLease lease, CancellationToken cancellationToken = default);

    /// <summary>The task reached its terminal event: remove it for good.</summary>
    ValueTask CompleteAsync(TaskLease lease, CancellationToken cancellationToken = default);

    /// <summary>Give the task back unfinished (graceful shutdown): another worker takes it at once.</summary>
    ValueTask ReleaseAsync(TaskLease lease, CancellationToken cancellationToken = default);
}

