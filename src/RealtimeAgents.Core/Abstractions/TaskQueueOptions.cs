namespace RealtimeAgents.Core;

/// <summary>A worker's claim on a task.</summary>
/// <param name="TaskId">The task.</param>
/// <param name="LeaseId">The queue entry (a stream id on Redis).</param>
/// <param name="Attempt">1 on first delivery, 2 after one reclaim, …</param>
/// <param name="Consumer">The worker holding it.</param>
public sealed record TaskLease(string TaskId, string LeaseId, int Attempt, string Consumer);

/// <summary>Queue timing.</summary>
public sealed class TaskQueueOptions
{
    /// <summary>A lease not renewed for this long is reclaimed by another worker.</summary>
    public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
