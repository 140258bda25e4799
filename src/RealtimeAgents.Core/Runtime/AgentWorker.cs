using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core.Observability;

namespace RealtimeAgents.Core.Runtime;

/// <summary>Worker tuning.</summary>
public sealed class WorkerOptions
{
    /// <summary>Tasks run at once by this worker.</summary>
    public int Concurrency { get; set; } = 64;

    /// <summary>Attempts before a task that keeps losing its worker ends with task.failed.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>This worker's name in the queue (unique per process).</summary>
    public string ConsumerName { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>How long a tool call waits for a person's approval before it is denied with reason "timeout".</summary>
    public TimeSpan ApprovalTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>On shutdown, how long running tasks may go on before they are handed back.</summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Takes tasks from the queue and runs their agents, at most <see cref="WorkerOptions.Concurrency"/>
/// at a time. For each task it writes task.started (with the attempt), relays control messages
/// (interrupt cancels the agent's token; injected messages become user.message), renews the
/// lease while the agent runs, closes any block the agent left open and writes exactly one
/// terminal event. On shutdown a task that does not finish within the grace period is handed
/// back unfinished so another worker retries it.
/// </summary>
public sealed partial class AgentWorker(
    ITaskQueue queue,
    ITaskStore store,
    IEventLog log,
    IControlChannel control,
    AgentRegistry agents,
    IThreadScheduler threads,
    IApprovalStore approvals,
    IOptions<WorkerOptions> workerOptions,
    IOptions<TaskQueueOptions> queueOptions,
    ILogger<AgentWorker> logger) : BackgroundService
{
    private readonly WorkerOptions _options = workerOptions.Value;
    private readonly TimeSpan _heartbeat = queueOptions.Value.VisibilityTimeout / 3;
    private readonly CancellationTokenSource _handBack = new();

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var slots = new SemaphoreSlim(_options.Concurrency, _options.Concurrency);
        var running = new HashSet<Task>();
        LogStarted(logger, _options.ConsumerName, _options.Concurrency);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await slots.WaitAsync(stoppingToken).ConfigureAwait(false);
                TaskLease? lease;
                try
                {
                    lease = await queue.DequeueAsync(_options.ConsumerName, TimeSpan.FromSeconds(2), stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    slots.Release();
                    LogQueueFailed(logger, ex);
                    await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
                    continue;
                }
                if (lease is null) { slots.Release(); continue; }
                var run = RunLeaseAsync(lease);
                lock (running) running.Add(run);
                _ = run.ContinueWith(t =>
                {
                    slots.Release();
                    lock (running) running.Remove(t);
                }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        Task[] left;
        lock (running) left = [.. running];
        if (left.Length == 0) return;
        // Let running tasks finish for a while, then hand the rest back.
        await Task.WhenAny(Task.WhenAll(left), Task.Delay(_options.ShutdownGrace, CancellationToken.None)).ConfigureAwait(false);
        await _handBack.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(left).WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Runs one leased task to its terminal event (or hands it back on shutdown).</summary>
    internal async Task RunLeaseAsync(TaskLease lease)
    {
        try
        {
            await RunCoreAsync(lease).ConfigureAwait(false);
        }
        catch (StaleAttemptException ex)
        {
            // Our lease expired (we were too slow to renew it) and a retry owns the task now; the
            // fence kept us from writing into its events. Nothing more to do here.
            LogSuperseded(logger, lease.TaskId, lease.Attempt, ex.Fence);
        }
        catch (Exception ex)
        {
            // Storage failed under us: the lease is not completed, so the task is retried elsewhere.
            LogRunFailed(logger, ex, lease.TaskId);
        }
    }

    private async Task RunCoreAsync(TaskLease lease)
    {
        var ct = CancellationToken.None; // storage calls finish even while stopping; hand-back is explicit
        var task = await store.GetAsync(lease.TaskId, ct).ConfigureAwait(false);
        if (task is null || TaskStates.IsTerminal(task.Status))
        {
            // Gone, or a previous attempt already wrote the terminal event before dying.
            await queue.CompleteAsync(lease, ct).ConfigureAwait(false);
            return;
        }
        if (lease.Attempt > _options.MaxAttempts)
        {
            var exhausted = new TaskFailedData(
                $"The task was attempted {_options.MaxAttempts} times and its worker stopped each time.", "retries_exhausted");
            await EndAsync(task, lease, EventKinds.TaskFailed, exhausted, ContractsJsonContext.Default.TaskFailedData).ConfigureAwait(false);
            RecordEnd(task, lease.Attempt, EventKinds.TaskFailed, exhausted, null, TimeSpan.Zero, null, null);
            return;
        }

        // The run joins the trace of the submit that created the task (carried in the record).
        ActivityContext.TryParse(task.TraceParent, null, out var parent);
        using var activity = RealtimeAgentsTelemetry.WorkerSource.StartActivity("RunTask", ActivityKind.Consumer, parent);
        activity?.SetTag("realtime_agents.task_id", task.TaskId).SetTag("realtime_agents.agent", task.Agent)
            .SetTag("realtime_agents.attempt", lease.Attempt);
        var agentTag = RealtimeAgentsTelemetry.Agent(task.Agent);
        RealtimeAgentsTelemetry.TasksStarted.Add(1, agentTag);
        if (lease.Attempt > 1) RealtimeAgentsTelemetry.TasksRetried.Add(1, agentTag);
        RealtimeAgentsTelemetry.TasksActive.Add(1);
        try
        {
            await RunAttemptAsync(task, lease, activity).ConfigureAwait(false);
        }
        finally
        {
            RealtimeAgentsTelemetry.TasksActive.Add(-1);
        }
    }

    private async Task RunAttemptAsync(TaskRecord task, TaskLease lease, Activity? activity)
    {
        var ct = CancellationToken.None;
        using var interrupt = new CancellationTokenSource();
        using var agentToken = CancellationTokenSource.CreateLinkedTokenSource(interrupt.Token, _handBack.Token);
        using var stopHeartbeat = new CancellationTokenSource();
        var context = new AgentContext(log, task, lease.Attempt) { RunActivity = activity };
        context.UseApprovals(approvals, _options.ApprovalTimeout);
        string? interruptReason = null;

        await store.UpdateAsync(task.TaskId, new TaskUpdate(Status: TaskStates.Running, Attempt: lease.Attempt,
            StartedAt: DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()), ct).ConfigureAwait(false);
        await context.AppendAsync(EventKinds.TaskStarted, new TaskStartedData(task.Agent, task.Input, lease.Attempt),
            ContractsJsonContext.Default.TaskStartedData).ConfigureAwait(false);
        if (lease.Attempt > 1) await context.CloseAbandonedBlocksAsync(ct).ConfigureAwait(false);

        await using var controlSub = await control.SubscribeAsync(task.TaskId, ct).ConfigureAwait(false);
        var controlPump = PumpControlAsync(controlSub, context, reason =>
        {
            interruptReason ??= reason;
            interrupt.Cancel();
        }, agentToken.Token);
        var heartbeat = HeartbeatAsync(lease, stopHeartbeat.Token);

        var started = Stopwatch.GetTimestamp();
        string kind;
        object data;
        UsageData? usage = null;
        try
        {
            var agent = agents.Create(task.Agent);
            await context.StatusAsync(StatusPhases.Running).ConfigureAwait(false);
            var result = await agent.RunAsync(context, agentToken.Token).ConfigureAwait(false);
            kind = EventKinds.TaskCompleted;
            usage = result.Usage;
            data = new TaskCompletedData(result.Output, result.Usage, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (OperationCanceledException) when (interrupt.IsCancellationRequested)
        {
            kind = EventKinds.TaskCancelled;
            data = new TaskCancelledData(interruptReason ?? "interrupted");
        }
        catch (OperationCanceledException) when (_handBack.IsCancellationRequested)
        {
            kind = "";
            data = "";
        }
        catch (Exception ex) when (ex is not StaleAttemptException)
        {
            kind = EventKinds.TaskFailed;
            data = ex is AgentException ae ? new TaskFailedData(ae.Message, ae.Code) : new TaskFailedData(ex.Message, "agent_error");
            LogAgentFailed(logger, ex, task.TaskId, task.Agent);
        }

        // Stop relaying injected messages before closing up, so nothing lands after the terminal event.
        await controlSub.DisposeAsync().ConfigureAwait(false);
        await controlPump.ConfigureAwait(false);
        await context.CloseOpenBlocksAsync().ConfigureAwait(false);
        await stopHeartbeat.CancelAsync().ConfigureAwait(false);
        await heartbeat.ConfigureAwait(false);
        context.StopToolSpans();

        if (kind.Length == 0)
        {
            await context.StatusAsync(StatusPhases.Waiting, "worker stopping; the task will be retried").ConfigureAwait(false);
            await store.UpdateAsync(task.TaskId, new TaskUpdate(Status: TaskStates.Queued), ct).ConfigureAwait(false);
            await queue.ReleaseAsync(lease, ct).ConfigureAwait(false);
            LogHandedBack(logger, task.TaskId);
            RealtimeAgentsTelemetry.TasksHandedBack.Add(1, RealtimeAgentsTelemetry.Agent(task.Agent));
            activity?.SetTag("realtime_agents.outcome", "handed_back");
            return;
        }
        switch (data)
        {
            case TaskCompletedData c: await EndAsync(task, lease, kind, c, ContractsJsonContext.Default.TaskCompletedData).ConfigureAwait(false); break;
            case TaskCancelledData c: await EndAsync(task, lease, kind, c, ContractsJsonContext.Default.TaskCancelledData).ConfigureAwait(false); break;
            case TaskFailedData f: await EndAsync(task, lease, kind, f, ContractsJsonContext.Default.TaskFailedData).ConfigureAwait(false); break;
        }
        RecordEnd(task, lease.Attempt, kind, data, usage, Stopwatch.GetElapsedTime(started), context.TimeToFirstToken, activity);
    }

    // One structured line and the outcome metrics per task end; never the input or output text.
    private void RecordEnd(TaskRecord task, int attempt, string kind, object data, UsageData? usage, TimeSpan duration,
        double? ttft, Activity? activity)
    {
        string outcome = TaskStates.FromTerminalKind(kind);
        var agentTag = RealtimeAgentsTelemetry.Agent(task.Agent);
        switch (data)
        {
            case TaskCompletedData: RealtimeAgentsTelemetry.TasksCompleted.Add(1, agentTag); break;
            case TaskCancelledData: RealtimeAgentsTelemetry.TasksCancelled.Add(1, agentTag); break;
            case TaskFailedData f:
                RealtimeAgentsTelemetry.TasksFailed.Add(1, agentTag, new("code", f.Code));
                activity?.SetStatus(ActivityStatusCode.Error, f.Code);
                break;
        }
        RealtimeAgentsTelemetry.TaskDuration.Record(duration.TotalSeconds, agentTag, new("outcome", outcome));
        activity?.SetTag("realtime_agents.outcome", outcome);
        LogTaskEnded(logger, task.TaskId, task.Agent, outcome, attempt, duration.TotalMilliseconds,
            usage?.InputTokens ?? 0, usage?.OutputTokens ?? 0, ttft is { } t ? t * 1000 : null);
    }

    private async Task EndAsync<T>(TaskRecord task, TaskLease lease, string kind, T data, JsonTypeInfo<T> type)
    {
        var ct = CancellationToken.None;
        // Status first: whoever sees the terminal event and asks GetTask finds it ended.
        await store.UpdateAsync(task.TaskId, new TaskUpdate(Status: TaskStates.FromTerminalKind(kind),
            EndedAt: DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()), ct).ConfigureAwait(false);
        await log.AppendAsync(task.TaskId, task.ThreadId, kind, JsonSerializer.SerializeToElement(data, type), Clock.UnixMs(),
            lease.Attempt, ct).ConfigureAwait(false);
        await queue.CompleteAsync(lease, ct).ConfigureAwait(false);
        await control.ForgetAsync(task.TaskId, ct).ConfigureAwait(false);
        await approvals.ForgetAsync(task.TaskId, ct).ConfigureAwait(false);
        await threads.TaskEndedAsync(task.ThreadId, ct).ConfigureAwait(false);
    }

    private async Task PumpControlAsync(IControlSubscription sub, AgentContext context, Action<string> onInterrupt,
        CancellationToken agentToken)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            await foreach (var message in sub.Messages.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                if (!seen.Add(message.Id)) continue;
                if (message.Type == ControlMessage.Interrupt)
                {
                    onInterrupt(message.Reason ?? "interrupted");
                }
                else if (message.Type == ControlMessage.Message && !agentToken.IsCancellationRequested)
                {
                    await context.InjectAsync(message).ConfigureAwait(false);
                }
                else if (message.Type == ControlMessage.Approval)
                {
                    context.NotifyApprovalAnswered();
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogControlFailed(logger, ex, context.TaskId);
        }
    }

    private async Task HeartbeatAsync(TaskLease lease, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                await Task.Delay(_heartbeat, ct).ConfigureAwait(false);
                try { await queue.RenewAsync(lease, ct).ConfigureAwait(false); }
                catch (Exception ex) when (ex is not OperationCanceledException) { LogHeartbeatFailed(logger, ex, lease.TaskId); }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _handBack.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 28, EventName = "TaskEnded", Level = LogLevel.Information,
        Message = "Task {TaskId} of agent {Agent} ended {Outcome} on attempt {Attempt} after {DurationMs:F0} ms; tokens in {InputTokens}, out {OutputTokens}; first token after {TtftMs:F0} ms.")]
    private static partial void LogTaskEnded(ILogger logger, string taskId, string agent, string outcome, int attempt,
        double durationMs, long inputTokens, long outputTokens, double? ttftMs);

    [LoggerMessage(EventId = 20, EventName = "WorkerStarted", Level = LogLevel.Information,
        Message = "Worker {Consumer} takes up to {Concurrency} tasks at once.")]
    private static partial void LogStarted(ILogger logger, string consumer, int concurrency);

    [LoggerMessage(EventId = 21, EventName = "WorkerQueueFailed", Level = LogLevel.Warning,
        Message = "Reading the task queue failed; retrying in a second.")]
    private static partial void LogQueueFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 22, EventName = "AgentFailed", Level = LogLevel.Information,
        Message = "Task {TaskId}: agent {Agent} failed.")]
    private static partial void LogAgentFailed(ILogger logger, Exception exception, string taskId, string agent);

    [LoggerMessage(EventId = 23, EventName = "TaskHandedBack", Level = LogLevel.Information,
        Message = "Task {TaskId} handed back unfinished for another worker.")]
    private static partial void LogHandedBack(ILogger logger, string taskId);

    [LoggerMessage(EventId = 24, EventName = "TaskRunFailed", Level = LogLevel.Error,
        Message = "Task {TaskId}: running it failed in storage; its lease will expire and it will be retried.")]
    private static partial void LogRunFailed(ILogger logger, Exception exception, string taskId);

    [LoggerMessage(EventId = 27, EventName = "TaskSuperseded", Level = LogLevel.Warning,
        Message = "Task {TaskId}: attempt {Attempt} lost its lease to attempt {Fence} and stopped.")]
    private static partial void LogSuperseded(ILogger logger, string taskId, int attempt, int fence);

    [LoggerMessage(EventId = 25, EventName = "ControlFailed", Level = LogLevel.Warning,
        Message = "Task {TaskId}: relaying control messages failed.")]
    private static partial void LogControlFailed(ILogger logger, Exception exception, string taskId);

    [LoggerMessage(EventId = 26, EventName = "HeartbeatFailed", Level = LogLevel.Warning,
        Message = "Task {TaskId}: renewing the lease failed.")]
    private static partial void LogHeartbeatFailed(ILogger logger, Exception exception, string taskId);
}
