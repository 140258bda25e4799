using System.Diagnostics;
using Microsoft.Extensions.Logging;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core.Observability;

namespace RealtimeAgents.Core.Runtime;

/// <summary>
/// Writes down how an attempt came out. An ended task: its status, its one terminal event, then
/// the lease, control channel and approvals are let go and the thread's next task may start; one
/// log line and the outcome metrics. A handed-back task: queued again, its lease released.
/// </summary>
internal sealed class TaskOutcomeWriter(ITaskStore store, IEventLog log, ITaskQueue queue, IControlChannel control,
    IApprovalStore approvals, IThreadScheduler threads, ILogger logger)
{
    /// <summary>Ends the task with the outcome's terminal event and records the end.</summary>
    public async Task EndAsync(TaskRecord task, TaskLease lease, TaskOutcome.Ended outcome, TimeSpan duration, double? ttft,
        Activity? activity)
    {
        var ct = CancellationToken.None; // storage calls finish even while stopping
        // Status first: whoever sees the terminal event and asks GetTask finds it ended.
        await store.UpdateAsync(task.TaskId, new TaskUpdate(Status: outcome.Status,
            EndedAt: DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()), ct).ConfigureAwait(false);
        await log.AppendAsync(task.TaskId, task.ThreadId, outcome.Kind, outcome.EventData(), Clock.UnixMs(), lease.Attempt, ct)
            .ConfigureAwait(false);
        await queue.CompleteAsync(lease, ct).ConfigureAwait(false);
        await control.ForgetAsync(task.TaskId, ct).ConfigureAwait(false);
        await approvals.ForgetAsync(task.TaskId, ct).ConfigureAwait(false);
        await threads.TaskEndedAsync(task.ThreadId, ct).ConfigureAwait(false);
        Record(task, lease.Attempt, outcome, duration, ttft, activity);
    }

    /// <summary>Puts the task back in the queue unfinished; another worker retries it.</summary>
    public async Task HandBackAsync(TaskRecord task, TaskLease lease, AgentContext context, Activity? activity)
    {
        var ct = CancellationToken.None;
        await context.StatusAsync(StatusPhases.Waiting, "worker stopping; the task will be retried").ConfigureAwait(false);
        await store.UpdateAsync(task.TaskId, new TaskUpdate(Status: TaskStates.Queued), ct).ConfigureAwait(false);
        await queue.ReleaseAsync(lease, ct).ConfigureAwait(false);
        WorkerLog.HandedBack(logger, task.TaskId);
        RealtimeAgentsTelemetry.TasksHandedBack.Add(1, RealtimeAgentsTelemetry.Agent(task.Agent));
        activity?.SetTag("realtime_agents.outcome", "handed_back");
    }

    // One structured line and the outcome metrics per task end; never the input or output text.
    private void Record(TaskRecord task, int attempt, TaskOutcome.Ended outcome, TimeSpan duration, double? ttft, Activity? activity)
    {
        var agentTag = RealtimeAgentsTelemetry.Agent(task.Agent);
        switch (outcome)
        {
            case TaskOutcome.Completed: RealtimeAgentsTelemetry.TasksCompleted.Add(1, agentTag); break;
            case TaskOutcome.Cancelled: RealtimeAgentsTelemetry.TasksCancelled.Add(1, agentTag); break;
            case TaskOutcome.Failed f:
                RealtimeAgentsTelemetry.TasksFailed.Add(1, agentTag, new("code", f.Code));
                activity?.SetStatus(ActivityStatusCode.Error, f.Code);
                break;
        }
        RealtimeAgentsTelemetry.TaskDuration.Record(duration.TotalSeconds, agentTag, new("outcome", outcome.Status));
        activity?.SetTag("realtime_agents.outcome", outcome.Status);
        var usage = (outcome as TaskOutcome.Completed)?.Usage;
        WorkerLog.TaskEnded(logger, task.TaskId, task.Agent, outcome.Status, attempt, duration.TotalMilliseconds,
            usage?.InputTokens ?? 0, usage?.OutputTokens ?? 0, ttft is { } t ? t * 1000 : null);
    }
}
