namespace RealtimeAgents.Contracts;

/// <summary>
/// The kinds of <see cref="AgentEvent"/>. Text, reasoning and tool blocks are framed with
/// start/end; every task ends with exactly one terminal kind.
/// </summary>
public static class EventKinds
{
    /// <summary>The worker began an attempt of the task. Data: <see cref="TaskStartedData"/>.</summary>
    public const string TaskStarted = "task.started";
    /// <summary>A phase change (queued, running, thinking, acting, observing, waiting). Data: <see cref="StatusData"/>.</summary>
    public const string Status = "status";
    /// <summary>Opens a text message. Data: <see cref="TextData"/>.</summary>
    public const string TextStart = "text.start";
    /// <summary>A piece of a text message. Data: <see cref="TextData"/>.</summary>
    public const string TextDelta = "text.delta";
    /// <summary>Closes a text message. Data: <see cref="TextData"/>.</summary>
    public const string TextEnd = "text.end";
    /// <summary>Opens a reasoning block. Data: <see cref="TextData"/>.</summary>
    public const string ReasoningStart = "reasoning.start";
    /// <summary>A piece of reasoning. Data: <see cref="TextData"/>.</summary>
    public const string ReasoningDelta = "reasoning.delta";
    /// <summary>Closes a reasoning block. Data: <see cref="TextData"/>.</summary>
    public const string ReasoningEnd = "reasoning.end";
    /// <summary>Opens a tool call. Data: <see cref="ToolCallData"/>.</summary>
    public const string ToolStart = "tool.start";
    /// <summary>A piece of the tool call's JSON arguments. Data: <see cref="ToolCallData"/>.</summary>
    public const string ToolArgs = "tool.args";
    /// <summary>Closes a tool call with its parsed input. Data: <see cref="ToolCallData"/>.</summary>
    public const string ToolEnd = "tool.end";
    /// <summary>The result of a tool call. Data: <see cref="ToolResultData"/>.</summary>
    public const string ToolResult = "tool.result";
    /// <summary>
    /// A tool call waits for a person's approval (status "pending", with the tool's name and
    /// input), or was answered (status "approved" / "denied", with the reason). Data:
    /// <see cref="ToolApprovalData"/>.
    /// </summary>
    public const string ToolApproval = "tool.approval";
    /// <summary>A message a person sent into the running task. Data: <see cref="UserMessageData"/>.</summary>
    public const string UserMessage = "user.message";
    /// <summary>Terminal: the agent finished. Data: <see cref="TaskCompletedData"/>.</summary>
    public const string TaskCompleted = "task.completed";
    /// <summary>Terminal: the agent or its worker failed. Data: <see cref="TaskFailedData"/>.</summary>
    public const string TaskFailed = "task.failed";
    /// <summary>Terminal: the task was interrupted. Data: <see cref="TaskCancelledData"/>.</summary>
    public const string TaskCancelled = "task.cancelled";

    /// <summary>Every kind, in the order of the design table.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        TaskStarted, Status, TextStart, TextDelta, TextEnd, ReasoningStart, ReasoningDelta, ReasoningEnd,
        ToolStart, ToolArgs, ToolEnd, ToolResult, UserMessage, ToolApproval, TaskCompleted, TaskFailed, TaskCancelled,
    ];

    /// <summary>True for the three kinds that end a task.</summary>
    public static bool IsTerminal(string kind) =>
        kind is TaskCompleted or TaskFailed or TaskCancelled;

    /// <summary>True for a kind listed in <see cref="All"/>.</summary>
    public static bool IsKnown(string kind) => All.Contains(kind, StringComparer.Ordinal);
}

/// <summary>Phases reported by <see cref="EventKinds.Status"/> events.</summary>
public static class StatusPhases
{
    /// <summary>Accepted, waiting for a worker.</summary>
    public const string Queued = "queued";
    /// <summary>A worker runs the task.</summary>
    public const string Running = "running";
    /// <summary>The agent reasons or waits for its model.</summary>
    public const string Thinking = "thinking";
    /// <summary>The agent calls a tool.</summary>
    public const string Acting = "acting";
    /// <summary>The agent reads a tool's result.</summary>
    public const string Observing = "observing";
    /// <summary>The agent waits for something outside it.</summary>
    public const string Waiting = "waiting";
}

/// <summary>Lifecycle states of a task, as returned by GetTask and Subscribe.</summary>
public static class TaskStates
{
    /// <summary>Waiting in the thread behind a running task (the enqueue policy).</summary>
    public const string Pending = "pending";
    /// <summary>In the task queue, waiting for a worker.</summary>
    public const string Queued = "queued";
    /// <summary>A worker runs it.</summary>
    public const string Running = "running";
    /// <summary>Ended with task.completed.</summary>
    public const string Completed = "completed";
    /// <summary>Ended with task.failed.</summary>
    public const string Failed = "failed";
    /// <summary>Ended with task.cancelled.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>True when the task has ended.</summary>
    public static bool IsTerminal(string state) => state is Completed or Failed or Cancelled;

    /// <summary>The task state a terminal event kind leads to.</summary>
    public static string FromTerminalKind(string kind) => kind switch
    {
        EventKinds.TaskCompleted => Completed,
        EventKinds.TaskFailed => Failed,
        EventKinds.TaskCancelled => Cancelled,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a terminal kind"),
    };
}

/// <summary>How SendMessage treats a thread whose task is still running.</summary>
public static class MessagePolicies
{
    /// <summary>Cancel the running task and start a new one with the message (default).</summary>
    public const string Interrupt = "interrupt";
    /// <summary>Start a new task with the message after the running one ends.</summary>
    public const string Enqueue = "enqueue";
    /// <summary>Refuse the message while a task runs.</summary>
    public const string Reject = "reject";
    /// <summary>Deliver the message into the running task; it appears as user.message.</summary>
    public const string Inject = "inject";

    /// <summary>True for one of the four policies.</summary>
    public static bool IsKnown(string policy) => policy is Interrupt or Enqueue or Reject or Inject;
}

/// <summary>States of a tool call's approval, as <see cref="ToolApprovalData.Status"/> reports them.</summary>
public static class ApprovalStates
{
    /// <summary>Waiting for an answer.</summary>
    public const string Pending = "pending";
    /// <summary>A person approved the call: the tool runs.</summary>
    public const string Approved = "approved";
    /// <summary>A person denied the call, or nobody answered in time (reason "timeout"): the tool does not run.</summary>
    public const string Denied = "denied";
    /// <summary>The reason of a denial nobody gave: the approval timed out.</summary>
    public const string TimeoutReason = "timeout";
}
