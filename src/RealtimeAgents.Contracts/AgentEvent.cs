using System.Text.Json;

namespace RealtimeAgents.Contracts;

/// <summary>
/// One entry of a task's event stream. <see cref="Seq"/> is contiguous per task (1, 2, 3, …);
/// <see cref="Id"/> is the stream entry id (<c>&lt;ms&gt;-&lt;n&gt;</c>, strictly increasing) and
/// is the cursor a client resumes from; <see cref="Ts"/> is the worker's wall clock at emit in
/// unix milliseconds with a fraction, so delivery latency can be measured end to end.
/// </summary>
public sealed record AgentEvent
{
    /// <summary>The task this event belongs to.</summary>
    public required string TaskId { get; init; }
    /// <summary>The conversation thread of the task.</summary>
    public required string ThreadId { get; init; }
    /// <summary>Position in the task's stream, starting at 1, without holes.</summary>
    public long Seq { get; init; }
    /// <summary>The stream entry id; the cursor to resume after this event.</summary>
    public required string Id { get; init; }
    /// <summary>One of <see cref="EventKinds"/>.</summary>
    public required string Kind { get; init; }
    /// <summary>Emit time, unix milliseconds with a fraction.</summary>
    public double Ts { get; init; }
    /// <summary>The kind's payload (see the *Data records).</summary>
    public JsonElement Data { get; init; }

    /// <summary>Reads <see cref="Data"/> as the payload record of this kind.</summary>
    public T DataAs<T>() where T : class =>
        (T)(Data.Deserialize(ContractsJsonContext.Default.GetTypeInfo(typeof(T))
            ?? throw new InvalidOperationException($"{typeof(T).Name} is not a contract type"))
            ?? throw new InvalidOperationException($"event {Seq} of task {TaskId} has no data"));
}

/// <summary>Data of task.started.</summary>
public sealed record TaskStartedData(string Agent, string Input, int Attempt);

/// <summary>Data of status.</summary>
public sealed record StatusData(string Phase, string? Label = null);

/// <summary>Data of text.* and reasoning.* events. <c>Role</c> is set on text.start.</summary>
public sealed record TextData(string MessageId, string? Delta = null, string? Role = null);

/// <summary>Data of tool.start (toolName), tool.args (delta) and tool.end (input).</summary>
public sealed record ToolCallData(string ToolCallId, string? ToolName = null, string? Delta = null, JsonElement? Input = null);

/// <summary>Data of tool.result.</summary>
public sealed record ToolResultData(string ToolCallId, JsonElement Output, bool IsError = false);

/// <summary>
/// Data of tool.approval: <paramref name="Status"/> is "pending" (with the tool's name, its input
/// and when the wait times out, unix ms) or the answer, "approved" / "denied" with its reason.
/// </summary>
public sealed record ToolApprovalData(string ToolCallId, string Status, string? ToolName = null, JsonElement? Input = null,
    string? Reason = null, long? DeadlineMs = null);

/// <summary>Data of user.message.</summary>
public sealed record UserMessageData(string MessageId, string Text);

/// <summary>Token counts reported by a model.</summary>
public sealed record UsageData(long InputTokens, long OutputTokens);

/// <summary>Data of task.completed.</summary>
public sealed record TaskCompletedData(string Output, UsageData? Usage, double ExecutionMs);

/// <summary>Data of task.failed. <c>Code</c> is machine-readable (agent_error, retries_exhausted, …).</summary>
public sealed record TaskFailedData(string Message, string Code);

/// <summary>Data of task.cancelled.</summary>
public sealed record TaskCancelledData(string Reason);
