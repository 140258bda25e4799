namespace RealtimeAgents.Core;

/// <summary>
/// Task and thread metadata: who owns a task, its agent and input, where it stands. Threads group
/// the tasks of one conversation in creation order.
/// </summary>
public interface ITaskStore
{
    /// <summary>
    /// Stores a new task and appends it to its thread (creating the thread). When the owner
    /// already created a task with the same idempotency key, nothing is stored and that task is
    /// returned with <see cref="TaskCreation.Created"/> false.
    /// </summary>
    ValueTask<TaskCreation> CreateAsync(TaskRecord task, CancellationToken cancellationToken = default);

    /// <summary>The task, or null.</summary>
    ValueTask<TaskRecord?> GetAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>Applies the non-null fields of <paramref name="update"/>; returns the task after, or null if unknown.</summary>
    ValueTask<TaskRecord?> UpdateAsync(string taskId, TaskUpdate update, CancellationToken cancellationToken = default);

    /// <summary>The thread with its task ids oldest first, or null.</summary>
    ValueTask<ThreadRecord?> GetThreadAsync(string threadId, CancellationToken cancellationToken = default);
}

/// <summary>A stored task.</summary>
public sealed record TaskRecord
{
    /// <summary>Id.</summary>
    public required string TaskId { get; init; }
    /// <summary>Thread.</summary>
    public required string ThreadId { get; init; }
    /// <summary>The user who submitted it.</summary>
    public required string Owner { get; init; }
    /// <summary>Agent name.</summary>
    public required string Agent { get; init; }
    /// <summary>Input text.</summary>
    public required string Input { get; init; }
    /// <summary>Agent options as a JSON object, or null.</summary>
    public string? OptionsJson { get; init; }
    /// <summary>One of TaskStates.</summary>
    public required string Status { get; init; }
    /// <summary>Attempts started so far.</summary>
    public int Attempt { get; init; }
    /// <summary>Unix ms.</summary>
    public long CreatedAt { get; init; }
    /// <summary>Unix ms, current attempt.</summary>
    public long? StartedAt { get; init; }
    /// <summary>Unix ms.</summary>
    public long? EndedAt { get; init; }
    /// <summary>The submitter's idempotency key.</summary>
    public string? IdempotencyKey { get; init; }
}

/// <summary>Fields to change; null leaves a field as it is.</summary>
public sealed record TaskUpdate(string? Status = null, int? Attempt = null, long? StartedAt = null, long? EndedAt = null);

/// <summary>Result of <see cref="ITaskStore.CreateAsync"/>.</summary>
public sealed record TaskCreation(TaskRecord Task, bool Created);

/// <summary>A conversation: its owner, the agent of its latest task, its tasks oldest first.</summary>
public sealed record ThreadRecord(string ThreadId, string Owner, string Agent, IReadOnlyList<string> TaskIds);
