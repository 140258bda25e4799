namespace RealtimeAgents.Core;

/// <summary>
/// What an agent remembers of a thread between its tasks (for an Agent Framework agent: its
/// serialized session). Each entry records the task that wrote it and the state that task
/// started from, so a task retried after its worker died after saving still starts from the
/// state stored before it, never from its own half-applied one.
/// </summary>
public interface IThreadStateStore
{
    /// <summary>The entry of <paramref name="key"/> (usually the agent's name) in the thread, or null.</summary>
    ValueTask<AgentThreadState?> GetAsync(string threadId, string key, CancellationToken cancellationToken = default);

    /// <summary>Replaces the entry. Lives as long as the thread's other keys.</summary>
    ValueTask SetAsync(string threadId, string key, AgentThreadState state, CancellationToken cancellationToken = default);
}

/// <summary>A thread's stored agent state.</summary>
/// <param name="TaskId">The task that wrote it.</param>
/// <param name="State">The state after that task (JSON).</param>
/// <param name="Before">The state that task started from (JSON), or null for the thread's first.</param>
public sealed record AgentThreadState(string TaskId, string State, string? Before);

/// <summary>
/// Tool-call approvals of running tasks, durable so that a task waiting for one survives its
/// worker's death: the retry finds the request (and its deadline) and the answer if one came.
/// Exactly one answer is ever recorded per call: a person's, or the worker's timeout denial,
/// whichever is first; every later answer is refused.
/// </summary>
public interface IApprovalStore
{
    /// <summary>
    /// Records that the task waits for approval of a call, unless it already did (a retry asking
    /// again): returns the stored record and whether this call created it.
    /// </summary>
    ValueTask<(ApprovalRecord Record, bool Created)> RequestAsync(string taskId, ApprovalRequest request,
        CancellationToken cancellationToken = default);

    /// <summary>The call's record (the request, the answer, or both), or null.</summary>
    ValueTask<ApprovalRecord?> GetAsync(string taskId, string toolCallId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records the answer unless the call has one: returns the record after, and whether this
    /// answer is the one recorded. An answer may come before the request (it then waits for it).
    /// </summary>
    ValueTask<(ApprovalRecord Record, bool Recorded)> AnswerAsync(string taskId, string toolCallId, ApprovalAnswer answer,
        CancellationToken cancellationToken = default);

    /// <summary>The task ended: its approvals may go.</summary>
    ValueTask ForgetAsync(string taskId, CancellationToken cancellationToken = default);
}

/// <summary>An agent's request to run a tool call.</summary>
/// <param name="ToolCallId">The call.</param>
/// <param name="ToolName">The tool.</param>
/// <param name="InputJson">Its arguments (JSON), or null.</param>
/// <param name="DeadlineMs">Unix ms after which the call is denied with reason "timeout".</param>
public sealed record ApprovalRequest(string ToolCallId, string ToolName, string? InputJson, long DeadlineMs);

/// <summary>A person's (or the timeout's) answer.</summary>
/// <param name="Approved">Run the tool or not.</param>
/// <param name="Reason">Why, or null.</param>
/// <param name="By">Who answered (a user id, or "timeout").</param>
/// <param name="AtMs">When, unix ms.</param>
public sealed record ApprovalAnswer(bool Approved, string? Reason, string By, long AtMs);

/// <summary>A call's request and answer, either of which may be missing yet.</summary>
public sealed record ApprovalRecord(string ToolCallId, ApprovalRequest? Request, ApprovalAnswer? Answer);
