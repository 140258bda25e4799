using System.Text.Json;

namespace RealtimeAgents.Contracts;

/// <summary>Argument of SubmitTask and body of POST /tasks.</summary>
public sealed record SubmitTaskRequest
{
    /// <summary>Registered agent name, e.g. "demo".</summary>
    public required string Agent { get; init; }
    /// <summary>The user's input; at most the configured size (32 KiB by default).</summary>
    public required string Input { get; init; }
    /// <summary>Continue this thread; a new thread is started when absent.</summary>
    public string? ThreadId { get; init; }
    /// <summary>Submitting twice with one key creates one task.</summary>
    public string? IdempotencyKey { get; init; }
    /// <summary>Agent-specific options (a JSON object).</summary>
    public JsonElement? Options { get; init; }
    /// <summary>Groups (a claim of the caller's token) that may also read or steer the task.</summary>
    public IReadOnlyList<TaskShare>? Share { get; init; }
}

/// <summary>
/// Shares a task with every member of a group: <see cref="ShareAccess.Read"/> lets them Subscribe,
/// GetTask and read the event stream; <see cref="ShareAccess.Steer"/> also lets them Interrupt and
/// SendMessage. Follow-up tasks of the thread keep the shares.
/// </summary>
public sealed record TaskShare(string Group, string Access);

/// <summary>Values of <see cref="TaskShare.Access"/>.</summary>
public static class ShareAccess
{
    /// <summary>Subscribe, GetTask, the event stream.</summary>
    public const string Read = "read";
    /// <summary>Read, plus Interrupt and SendMessage.</summary>
    public const string Steer = "steer";
}

/// <summary>Result of SubmitTask and SendMessage.</summary>
public sealed record SubmitTaskResult(string TaskId, string ThreadId);

/// <summary>Result of Subscribe.</summary>
/// <param name="TaskId">The task.</param>
/// <param name="Status">The task's state when the subscription started.</param>
/// <param name="Recovered">False when the cursor is older than what the log retains (trimmed,
/// expired, or from an earlier incarnation of the stream): the subscription then continues live
/// from <paramref name="Cursor"/> and the client must treat what it had as incomplete.</param>
/// <param name="Cursor">Events delivered on this subscription come strictly after this id.</param>
/// <param name="Epoch">Identifies this incarnation of the task's stream.</param>
public sealed record SubscribeResult(string TaskId, string Status, bool Recovered, string Cursor, string Epoch);

/// <summary>Result of SendMessage.</summary>
/// <param name="ThreadId">The thread.</param>
/// <param name="TaskId">The task that got the message: a new one, or the running one for inject.</param>
/// <param name="Outcome">started, queued or injected.</param>
/// <param name="MessageId">The id of the user message.</param>
public sealed record SendMessageResult(string ThreadId, string TaskId, string Outcome, string MessageId);

/// <summary>A task as returned by GetTask.</summary>
public sealed record TaskInfo
{
    /// <summary>The task id.</summary>
    public required string TaskId { get; init; }
    /// <summary>The thread.</summary>
    public required string ThreadId { get; init; }
    /// <summary>The agent.</summary>
    public required string Agent { get; init; }
    /// <summary>One of <see cref="TaskStates"/>.</summary>
    public required string Status { get; init; }
    /// <summary>The input.</summary>
    public required string Input { get; init; }
    /// <summary>The current or last attempt, 0 before a worker picked it up.</summary>
    public int Attempt { get; init; }
    /// <summary>Creation time, unix ms.</summary>
    public long CreatedAt { get; init; }
    /// <summary>When the current attempt started, unix ms.</summary>
    public long? StartedAt { get; init; }
    /// <summary>When it ended, unix ms.</summary>
    public long? EndedAt { get; init; }
}

/// <summary>Sent to callers of SubscribeThread for each new task in the thread.</summary>
public sealed record ThreadTaskNotice(string ThreadId, string TaskId, string Agent, string Status, string Input);

/// <summary>Result of SubscribeThread: the thread's tasks so far, oldest first.</summary>
public sealed record ThreadInfo(string ThreadId, string Agent, IReadOnlyList<TaskInfo> Tasks);

/// <summary>
/// Result of RespondToApproval: the answer was recorded. <paramref name="Waiting"/> is false when
/// the agent had not asked yet (the answer waits for its request; the first answer wins either way).
/// </summary>
public sealed record ApprovalAnswerResult(string TaskId, string ToolCallId, bool Approved, bool Waiting);
