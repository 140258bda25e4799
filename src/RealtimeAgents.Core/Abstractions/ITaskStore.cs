using RealtimeAgents.Contracts;

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
    /// returned with <see cref="TaskCreation.Created"/> false. When storing it would take the
    /// owner past <paramref name="limits"/>, nothing is stored and <see cref="TaskCreation.Refused"/>
    /// says which limit; the check and the creation are one atomic step, so concurrent submits
    /// cannot overshoot.
    /// </summary>
    ValueTask<TaskCreation> CreateAsync(TaskRecord task, OwnerLimits limits = default, CancellationToken cancellationToken = default);

    /// <summary>The task, or null.</summary>
    ValueTask<TaskRecord?> GetAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The tasks of <paramref name="taskIds"/> in one call, in the order asked, leaving out ids with
    /// no task (expired). A thread's tasks are read this way: one call, not one per task.
    /// </summary>
    ValueTask<IReadOnlyList<TaskRecord>> GetManyAsync(IReadOnlyList<string> taskIds, CancellationToken cancellationToken = default);

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
    /// <summary>Groups that may read or steer the task besides its owner.</summary>
    public TaskShares Shares { get; init; } = TaskShares.None;
    /// <summary>
    /// The W3C traceparent of the submit that created the task, so the worker's spans join the
    /// submitter's trace across the queue. Null when nothing was tracing.
    /// </summary>
    public string? TraceParent { get; init; }
}

/// <summary>A task's shares, compared by value so records holding them compare by value too.</summary>
public sealed class TaskShares : IReadOnlyList<TaskShare>, IEquatable<TaskShares>
{
    private readonly TaskShare[] _items;

    /// <summary>No shares.</summary>
    public static readonly TaskShares None = new([]);

    /// <summary>Creates the list.</summary>
    public TaskShares(IEnumerable<TaskShare> shares) => _items = [.. shares];

    /// <inheritdoc />
    public TaskShare this[int index] => _items[index];
    /// <inheritdoc />
    public int Count => _items.Length;
    /// <inheritdoc />
    public IEnumerator<TaskShare> GetEnumerator() => ((IEnumerable<TaskShare>)_items).GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => _items.GetEnumerator();
    /// <inheritdoc />
    public bool Equals(TaskShares? other) => other is not null && _items.AsSpan().SequenceEqual(other._items);
    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as TaskShares);
    /// <inheritdoc />
    public override int GetHashCode() => _items.Length;
}

/// <summary>Per-owner bounds for <see cref="ITaskStore.CreateAsync"/>; zero means unbounded.</summary>
/// <param name="MaxActiveTasks">Tasks of the owner not yet ended (pending, queued or running).</param>
/// <param name="MaxThreads">Threads of the owner still retained.</param>
public readonly record struct OwnerLimits(int MaxActiveTasks, int MaxThreads);

/// <summary>Why <see cref="ITaskStore.CreateAsync"/> stored nothing.</summary>
public enum CreationRefusal
{
    /// <summary>Not refused.</summary>
    None,
    /// <summary><see cref="OwnerLimits.MaxActiveTasks"/> reached.</summary>
    TooManyActiveTasks,
    /// <summary><see cref="OwnerLimits.MaxThreads"/> reached (only a new thread counts).</summary>
    TooManyThreads,
}

/// <summary>Fields to change; null leaves a field as it is.</summary>
public sealed record TaskUpdate(string? Status = null, int? Attempt = null, long? StartedAt = null, long? EndedAt = null);

/// <summary>Result of <see cref="ITaskStore.CreateAsync"/>.</summary>
public sealed record TaskCreation(TaskRecord Task, bool Created, CreationRefusal Refused = CreationRefusal.None);

/// <summary>
/// A conversation: its owner, the agent of its latest task, its tasks oldest first, and the shares
/// of its latest task (a thread is shared through its tasks; kept here so one read decides access).
/// </summary>
public sealed record ThreadRecord(string ThreadId, string Owner, string Agent, IReadOnlyList<string> TaskIds, TaskShares Shares);
