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
    /// The next tasks for <paramref name="consumer"/>, at most <paramref name="max"/>: an expired
    /// lease first (reclaimed; the Redis queue reclaims one per call), then new entries in queue
    /// order; waits up to <paramref name="maxWait"/> for at least one and returns none when there
    /// is none. A worker with free slots and a backlog asks for several, so a busy queue is
    /// drained in batches rather than one round trip per task.
    /// </summary>
    ValueTask<IReadOnlyList<TaskLease>> DequeueAsync(string consumer, int max, TimeSpan maxWait, CancellationToken cancellationToken = default);

    /// <summary>Heartbeat: the holder is alive; pushes the lease's expiry out again.</summary>
    ValueTask RenewAsync(TaskLease lease, CancellationToken cancellationToken = default);

    /// <summary>The task reached its terminal event: remove it for good.</summary>
    ValueTask CompleteAsync(TaskLease lease, CancellationToken cancellationToken = default);

    /// <summary>Give the task back unfinished (graceful shutdown): another worker takes it at once.</summary>
    ValueTask ReleaseAsync(TaskLease lease, CancellationToken cancellationToken = default);
}
