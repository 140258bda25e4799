using Microsoft.Extensions.Logging;

namespace RealtimeAgents.Core.Runtime;

/// <summary>The worker's log lines, written under the <see cref="AgentWorker"/> category by every part of a run.</summary>
internal static partial class WorkerLog
{
    [LoggerMessage(EventId = 20, EventName = "WorkerStarted", Level = LogLevel.Information,
        Message = "Worker {Consumer} takes up to {Concurrency} tasks at once.")]
    public static partial void Started(ILogger logger, string consumer, int concurrency);

    [LoggerMessage(EventId = 21, EventName = "WorkerQueueFailed", Level = LogLevel.Warning,
        Message = "Reading the task queue failed; retrying in a second.")]
    public static partial void QueueFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 22, EventName = "AgentFailed", Level = LogLevel.Information,
        Message = "Task {TaskId}: agent {Agent} failed.")]
    public static partial void AgentFailed(ILogger logger, Exception exception, string taskId, string agent);

    [LoggerMessage(EventId = 23, EventName = "TaskHandedBack", Level = LogLevel.Information,
        Message = "Task {TaskId} handed back unfinished for another worker.")]
    public static partial void HandedBack(ILogger logger, string taskId);

    [LoggerMessage(EventId = 24, EventName = "TaskRunFailed", Level = LogLevel.Error,
        Message = "Task {TaskId}: running it failed in storage; its lease will expire and it will be retried.")]
    public static partial void RunFailed(ILogger logger, Exception exception, string taskId);

    [LoggerMessage(EventId = 25, EventName = "ControlFailed", Level = LogLevel.Warning,
        Message = "Task {TaskId}: relaying control messages failed.")]
    public static partial void ControlFailed(ILogger logger, Exception exception, string taskId);

    [LoggerMessage(EventId = 26, EventName = "HeartbeatFailed", Level = LogLevel.Warning,
        Message = "Task {TaskId}: renewing the lease failed.")]
    public static partial void HeartbeatFailed(ILogger logger, Exception exception, string taskId);

    [LoggerMessage(EventId = 27, EventName = "TaskSuperseded", Level = LogLevel.Warning,
        Message = "Task {TaskId}: attempt {Attempt} lost its lease to attempt {Fence} and stopped.")]
    public static partial void Superseded(ILogger logger, string taskId, int attempt, int fence);

    [LoggerMessage(EventId = 28, EventName = "TaskEnded", Level = LogLevel.Information,
        Message = "Task {TaskId} of agent {Agent} ended {Outcome} on attempt {Attempt} after {DurationMs:F0} ms; tokens in {InputTokens}, out {OutputTokens}; first token after {TtftMs:F0} ms.")]
    public static partial void TaskEnded(ILogger logger, string taskId, string agent, string outcome, int attempt,
        double durationMs, long inputTokens, long outputTokens, double? ttftMs);
}
