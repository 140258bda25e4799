using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core.Observability;

namespace RealtimeAgents.Core;

/// <summary>
/// The task operations behind the hub and the HTTP endpoints: validate, check access, then act.
/// Every refusal is a <see cref="RealtimeAgentsException"/> thrown before anything changes.
/// Access is decided once, for every transport, by <see cref="TaskAccessRules"/> after a single
/// store read, so a task that is not the caller's looks exactly like a missing one, in the answer
/// and in its timing. Thread operations are in <see cref="ThreadService"/>.
/// </summary>
public sealed partial class TaskService(
    ITaskStore store,
    ITaskQueue queue,
    IEventLog log,
    IControlChannel control,
    IApprovalStore approvals,
    IAgentCatalog agents,
    IEnumerable<ITaskNotifier> notifiers,
    IOptions<TaskOptions> options,
    ILogger<TaskService> logger)
{
    private readonly TaskOptions _options = options.Value;
    private readonly TaskRequestValidator _validate = new(options.Value, agents);

    /// <summary>Creates a task (or returns the one with the same idempotency key) and queues it.</summary>
    public async Task<SubmitTaskResult> SubmitAsync(Caller caller, SubmitTaskRequest request, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(request);
        // The root of the task's trace (or a child of the caller's request span); its context is
        // stored with the task so the worker's run joins it.
        using var activity = RealtimeAgentsTelemetry.HubSource.StartActivity("SubmitTask");
        var (optionsJson, shares) = _validate.Submit(request);
        string threadId;
        if (request.ThreadId is null)
        {
            threadId = Ids.NewThreadId();
        }
        else
        {
            threadId = TaskRequestValidator.ThreadId(request.ThreadId);
            var thread = await store.GetThreadAsync(threadId, ct).ConfigureAwait(false);
            // Only the owner adds tasks to a thread this way; people it is shared with use SendMessage.
            if (thread is not null && thread.Owner != caller.UserId) throw RealtimeAgentsException.ThreadNotFound(threadId);
            // A follow-up keeps the thread's shares unless the request says otherwise.
            if (request.Share is null && thread is not null) shares = thread.Shares;
        }
        var task = await CreateAndStartAsync(caller, caller.UserId, threadId, request.Agent, request.Input, optionsJson,
            request.IdempotencyKey, shares, pending: false, ct).ConfigureAwait(false);
        return new SubmitTaskResult(task.TaskId, task.ThreadId);
    }

    /// <summary>
    /// The task if the caller may at least read it (Subscribe, GetTask, event streams); not_found
    /// when it does not exist or the caller has no access to it.
    /// </summary>
    public Task<TaskRecord> GetReadableAsync(Caller caller, string? taskId, CancellationToken ct = default) =>
        GetAccessibleAsync(caller, taskId, TaskAccess.Read, ct);

    private async Task<TaskRecord> GetAccessibleAsync(Caller caller, string? taskId, TaskAccess needed, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (!Ids.IsValid(taskId)) throw RealtimeAgentsException.Invalid("The task id is malformed.");
        var task = await store.GetAsync(taskId!, ct).ConfigureAwait(false);
        return TaskAccessRules.RequireTask(caller, task, taskId!, needed);
    }

    /// <summary>GetTask.</summary>
    public async Task<TaskInfo> GetTaskAsync(Caller caller, string? taskId, CancellationToken ct = default) =>
        (await GetReadableAsync(caller, taskId, ct).ConfigureAwait(false)).ToInfo();

    /// <summary>
    /// Interrupts a task. A running or queued task gets the interrupt through the control channel
    /// (kept, so a worker that has not subscribed yet still sees it); a task waiting in its thread
    /// is cancelled here, since no worker holds it. Interrupting an ended task does nothing.
    /// </summary>
    public async Task InterruptAsync(Caller caller, string? taskId, string? reason, CancellationToken ct = default)
    {
        var task = await GetAccessibleAsync(caller, taskId, TaskAccess.Steer, ct).ConfigureAwait(false);
        TaskRequestValidator.Reason(reason);
        await InterruptCoreAsync(task, reason ?? "interrupted by the user", ct).ConfigureAwait(false);
    }

    internal async Task InterruptCoreAsync(TaskRecord task, string reason, CancellationToken ct)
    {
        if (TaskStates.IsTerminal(task.Status)) return;
        if (task.Status == TaskStates.Pending)
        {
            await store.UpdateAsync(task.TaskId, new TaskUpdate(Status: TaskStates.Cancelled,
                EndedAt: DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()), ct).ConfigureAwait(false);
            await log.AppendAsync(task.TaskId, task.ThreadId, EventKinds.TaskCancelled, new TaskCancelledData(reason),
                ContractsJsonContext.Default.TaskCancelledData, Clock.UnixMs(), 0, ct).ConfigureAwait(false);
            return;
        }
        await control.SendAsync(task.TaskId, new ControlMessage(Ids.NewMessageId(), ControlMessage.Interrupt, Reason: reason), ct)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// Answers a tool call's approval. The owner or a steer-share holder may answer; a read-only
    /// viewer is refused. The first answer to a call is the one that counts (a person's, or the
    /// worker's timeout denial): any later one is a conflict. An answer may come before the
    /// agent's request reached the caller, or even before the agent asked: it is stored and the
    /// request finds it. The running worker is woken through the control channel; a worker that
    /// retries the task after a crash finds the answer in the store.
    /// </summary>
    public async Task<ApprovalAnswerResult> RespondToApprovalAsync(Caller caller, string? taskId, string? toolCallId, bool approved,
        string? reason, CancellationToken ct = default)
    {
        TaskRequestValidator.ToolCallId(toolCallId);
        TaskRequestValidator.Reason(reason);
        var task = await GetAccessibleAsync(caller, taskId, TaskAccess.Steer, ct).ConfigureAwait(false);
        if (TaskStates.IsTerminal(task.Status))
        {
            throw new RealtimeAgentsException(ErrorCodes.Conflict, $"Task '{task.TaskId}' has ended; there is nothing to approve.");
        }
        var answer = new ApprovalAnswer(approved, string.IsNullOrWhiteSpace(reason) ? null : reason, caller.UserId,
            DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var (record, recorded) = await approvals.AnswerAsync(task.TaskId, toolCallId!, answer, ct).ConfigureAwait(false);
        if (!recorded)
        {
            var first = record.Answer!;
            string how = first.Approved ? "approved" : first.Reason == ApprovalStates.TimeoutReason ? "denied (timed out)" : "denied";
            throw new RealtimeAgentsException(ErrorCodes.Conflict, $"Tool call '{TaskRequestValidator.Truncate(toolCallId)}' was already {how}.");
        }
        await control.SendAsync(task.TaskId, new ControlMessage(Ids.NewMessageId(), ControlMessage.Approval, Text: toolCallId), ct)
            .ConfigureAwait(false);
        return new ApprovalAnswerResult(task.TaskId, toolCallId!, approved, Waiting: record.Request is not null);
    }

    /// <summary>
    /// Stores a new task within the owner's limits, writes its first event and queues it (or, when
    /// <paramref name="pending"/>, leaves it waiting for the thread's active task).
    /// </summary>
    internal async Task<TaskRecord> CreateAndStartAsync(Caller caller, string owner, string threadId, string agent, string input,
        string? optionsJson, string? idempotencyKey, TaskShares shares, bool pending, CancellationToken ct)
    {
        var record = new TaskRecord
        {
            TaskId = Ids.NewTaskId(),
            ThreadId = threadId,
            Owner = owner,
            Agent = agent,
            Input = input,
            OptionsJson = optionsJson,
            Status = pending ? TaskStates.Pending : TaskStates.Queued,
            CreatedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            IdempotencyKey = idempotencyKey,
            Shares = shares,
            TraceParent = System.Diagnostics.Activity.Current?.Id,
        };
        var limits = caller.Unmetered ? default : new OwnerLimits(_options.MaxActiveTasksPerUser, _options.MaxThreadsPerUser);
        var creation = await store.CreateAsync(record, limits, ct).ConfigureAwait(false);
        switch (creation.Refused)
        {
            case CreationRefusal.TooManyActiveTasks:
                throw RealtimeAgentsException.Quota(
                    $"{limits.MaxActiveTasks} tasks of this user have not ended; that is the limit. Wait for one to end or interrupt one.");
            case CreationRefusal.TooManyThreads:
                throw RealtimeAgentsException.Quota(
                    $"This user has {limits.MaxThreads} threads; that is the limit. Continue an existing thread instead.");
        }
        if (!creation.Created) return creation.Task;
        System.Diagnostics.Activity.Current?.SetTag("realtime_agents.task_id", record.TaskId).SetTag("realtime_agents.agent", agent);
        RealtimeAgentsTelemetry.TasksSubmitted.Add(1, RealtimeAgentsTelemetry.Agent(agent));
        // The first event exists before anyone can subscribe, so a client sees "queued" at once.
        var queued = new StatusData(pending ? StatusPhases.Waiting : StatusPhases.Queued, pending ? "waiting for the running task" : null);
        await log.AppendAsync(record.TaskId, threadId, EventKinds.Status, queued, ContractsJsonContext.Default.StatusData, Clock.UnixMs(), 0, ct)
            .ConfigureAwait(false);
        // The queue and the thread's watchers are told at once: neither needs the other, and the
        // caller's answer waits for one round trip instead of two or three.
        var notice = record.ToNotice();
        var told = notifiers.Select(n => n.TaskCreatedAsync(notice, ct).AsTask()).ToList();
        if (!pending) told.Add(queue.EnqueueAsync(record.TaskId, ct).AsTask());
        await Task.WhenAll(told).ConfigureAwait(false);
        LogSubmitted(logger, record.TaskId, agent, threadId);
        return record;
    }

    [LoggerMessage(EventId = 10, EventName = "TaskSubmitted", Level = LogLevel.Debug,
        Message = "Task {TaskId} submitted to agent {Agent} in thread {ThreadId}.")]
    private static partial void LogSubmitted(ILogger logger, string taskId, string agent, string threadId);
}
