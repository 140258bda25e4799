using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core.Observability;
using RealtimeAgents.Core.Runtime;

namespace RealtimeAgents.Core;

/// <summary>Told about each new task so thread watchers can be notified.</summary>
public interface ITaskNotifier
{
    /// <summary>A task was created in a thread.</summary>
    ValueTask TaskCreatedAsync(ThreadTaskNotice notice, CancellationToken cancellationToken);
}

/// <summary>
/// The operations behind the hub and the HTTP endpoints: validate, check access, then act.
/// Every refusal is a <see cref="RealtimeAgentsException"/> thrown before anything changes.
/// Access is decided here, once, for every transport: the owner may do everything, members of a
/// group the task is shared with may read it (and steer it with "steer" access), and to anyone
/// else the task or thread does not exist: they get the very error a missing id gets, after the
/// same single store read, so neither the answer nor its timing tells the two apart.
/// </summary>
public sealed partial class TaskService(
    ITaskStore store,
    ITaskQueue queue,
    IEventLog log,
    IControlChannel control,
    IApprovalStore approvals,
    AgentRegistry agents,
    IEnumerable<ITaskNotifier> notifiers,
    IOptions<TaskOptions> options,
    ILogger<TaskService> logger)
{
    private readonly TaskOptions _options = options.Value;

    /// <summary>Creates a task (or returns the one with the same idempotency key) and queues it.</summary>
    public async Task<SubmitTaskResult> SubmitAsync(Caller caller, SubmitTaskRequest request, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(request);
        // The root of the task's trace (or a child of the caller's request span); its context is
        // stored with the task so the worker's run joins it.
        using var activity = RealtimeAgentsTelemetry.HubSource.StartActivity("SubmitTask");
        if (string.IsNullOrEmpty(request.Agent) || !agents.Contains(request.Agent))
        {
            throw RealtimeAgentsException.Invalid(
                $"Unknown agent '{Truncate(request.Agent)}'. Available: {string.Join(", ", agents.Names)}.");
        }
        ValidateText(request.Input, "Input");
        string? optionsJson = ValidateOptions(request.Options);
        agents.ValidateOptions(request.Agent, request.Options);
        if (request.IdempotencyKey is { } key &&
            (key.Length == 0 || key.Length > _options.MaxIdempotencyKeyLength || key.Any(char.IsControl)))
        {
            throw RealtimeAgentsException.Invalid(
                $"The idempotency key must be 1–{_options.MaxIdempotencyKeyLength} printable characters.");
        }
        var shares = ValidateShares(request.Share);
        string threadId;
        if (request.ThreadId is null)
        {
            threadId = Ids.NewThreadId();
        }
        else
        {
            if (!Ids.IsValid(request.ThreadId)) throw RealtimeAgentsException.Invalid("The thread id is malformed.");
            var thread = await store.GetThreadAsync(request.ThreadId, ct).ConfigureAwait(false);
            // Only the owner adds tasks to a thread this way; people it is shared with use SendMessage.
            if (thread is not null && thread.Owner != caller.UserId) throw RealtimeAgentsException.ThreadNotFound(request.ThreadId);
            threadId = request.ThreadId;
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
        var access = task is null ? TaskAccess.None : AccessOf(caller, task.Owner, task.Shares);
        if (access == TaskAccess.None) throw RealtimeAgentsException.TaskNotFound(taskId!);
        // The caller can read it, so saying it exists reveals nothing new.
        if (access < needed) throw RealtimeAgentsException.ReadOnly("task", taskId!);
        return task!;
    }

    /// <summary>What <paramref name="caller"/> may do with something owned by <paramref name="owner"/> and shared as <paramref name="shares"/>.</summary>
    public static TaskAccess AccessOf(Caller caller, string owner, IReadOnlyList<TaskShare> shares)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(shares);
        if (string.Equals(caller.UserId, owner, StringComparison.Ordinal)) return TaskAccess.Steer;
        var access = TaskAccess.None;
        foreach (var share in shares)
        {
            if (!caller.IsIn(share.Group)) continue;
            if (share.Access == ShareAccess.Steer) return TaskAccess.Steer;
            access = TaskAccess.Read;
        }
        return access;
    }

    /// <summary>GetTask.</summary>
    public async Task<TaskInfo> GetTaskAsync(Caller caller, string? taskId, CancellationToken ct = default) =>
        ToInfo(await GetReadableAsync(caller, taskId, ct).ConfigureAwait(false));

    /// <summary>
    /// Interrupts a task. A running or queued task gets the interrupt through the control channel
    /// (kept, so a worker that has not subscribed yet still sees it); a task waiting in its thread
    /// is cancelled here, since no worker holds it. Interrupting an ended task does nothing.
    /// </summary>
    public async Task InterruptAsync(Caller caller, string? taskId, string? reason, CancellationToken ct = default)
    {
        var task = await GetAccessibleAsync(caller, taskId, TaskAccess.Steer, ct).ConfigureAwait(false);
        if (reason is { Length: > 1024 }) throw RealtimeAgentsException.Invalid("The reason is longer than 1024 characters.");
        await InterruptCoreAsync(task, reason ?? "interrupted by the user", ct).ConfigureAwait(false);
    }

    private async Task InterruptCoreAsync(TaskRecord task, string reason, CancellationToken ct)
    {
        if (TaskStates.IsTerminal(task.Status)) return;
        if (task.Status == TaskStates.Pending)
        {
            var data = JsonSerializer.SerializeToElement(new TaskCancelledData(reason), ContractsJsonContext.Default.TaskCancelledData);
            await store.UpdateAsync(task.TaskId, new TaskUpdate(Status: TaskStates.Cancelled,
                EndedAt: DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()), ct).ConfigureAwait(false);
            await log.AppendAsync(task.TaskId, task.ThreadId, EventKinds.TaskCancelled, data, Clock.UnixMs(), 0, ct).ConfigureAwait(false);
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
        if (string.IsNullOrEmpty(toolCallId) || toolCallId.Length > 256 || toolCallId.Any(char.IsControl))
        {
            throw RealtimeAgentsException.Invalid("The tool call id must be 1–256 printable characters.");
        }
        if (reason is { Length: > 1024 }) throw RealtimeAgentsException.Invalid("The reason is longer than 1024 characters.");
        var task = await GetAccessibleAsync(caller, taskId, TaskAccess.Steer, ct).ConfigureAwait(false);
        if (TaskStates.IsTerminal(task.Status))
        {
            throw new RealtimeAgentsException(ErrorCodes.Conflict, $"Task '{task.TaskId}' has ended; there is nothing to approve.");
        }
        var answer = new ApprovalAnswer(approved, string.IsNullOrWhiteSpace(reason) ? null : reason, caller.UserId,
            DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var (record, recorded) = await approvals.AnswerAsync(task.TaskId, toolCallId, answer, ct).ConfigureAwait(false);
        if (!recorded)
        {
            var first = record.Answer!;
            string how = first.Approved ? "approved" : first.Reason == ApprovalStates.TimeoutReason ? "denied (timed out)" : "denied";
            throw new RealtimeAgentsException(ErrorCodes.Conflict, $"Tool call '{Truncate(toolCallId)}' was already {how}.");
        }
        await control.SendAsync(task.TaskId, new ControlMessage(Ids.NewMessageId(), ControlMessage.Approval, Text: toolCallId), ct)
            .ConfigureAwait(false);
        return new ApprovalAnswerResult(task.TaskId, toolCallId, approved, Waiting: record.Request is not null);
    }

    /// <summary>
    /// A new user message in a thread, handled by policy while a task of the thread is active:
    /// interrupt (cancel it, start a new task), enqueue (start after it), reject (refuse), inject
    /// (deliver into it). With no active task every policy starts a new task.
    /// </summary>
    public async Task<SendMessageResult> SendMessageAsync(Caller caller, string? threadId, string? text, string? policy,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        using var activity = RealtimeAgentsTelemetry.HubSource.StartActivity("SendMessage");
        policy = string.IsNullOrEmpty(policy) ? MessagePolicies.Interrupt : policy;
        if (!MessagePolicies.IsKnown(policy))
        {
            throw RealtimeAgentsException.Invalid(
                $"Unknown policy '{Truncate(policy)}'. Use interrupt, enqueue, reject or inject.");
        }
        if (!Ids.IsValid(threadId)) throw RealtimeAgentsException.Invalid("The thread id is malformed.");
        ValidateText(text, "Message");
        var thread = await GetAccessibleThreadAsync(caller, threadId!, TaskAccess.Steer, ct).ConfigureAwait(false);

        TaskRecord? active = null, latest = null;
        for (int i = thread.TaskIds.Count - 1; i >= 0; i--)
        {
            var t = await store.GetAsync(thread.TaskIds[i], ct).ConfigureAwait(false);
            if (t is null) continue;
            latest ??= t;
            if (!TaskStates.IsTerminal(t.Status)) { active = t; break; }
        }
        string agent = latest?.Agent ?? thread.Agent;
        string? optionsJson = latest?.OptionsJson;
        bool waitForActive = false;
        if (active is not null)
        {
            switch (policy)
            {
                case MessagePolicies.Reject:
                    throw new RealtimeAgentsException(ErrorCodes.Conflict,
                        $"Task '{active.TaskId}' is still running in this thread; the message was rejected.");
                case MessagePolicies.Inject:
                    string messageId = Ids.NewMessageId();
                    await control.SendAsync(active.TaskId, new ControlMessage(messageId, ControlMessage.Message, Text: text), ct)
                        .ConfigureAwait(false);
                    return new SendMessageResult(thread.ThreadId, active.TaskId, "injected", messageId);
                case MessagePolicies.Interrupt:
                    await InterruptCoreAsync(active, "superseded by a new message", ct).ConfigureAwait(false);
                    break;
                default:
                    waitForActive = true;
                    break;
            }
        }
        // The follow-up belongs to the thread's owner and keeps the thread's shares, whoever sent it.
        var task = await CreateAndStartAsync(caller, thread.Owner, thread.ThreadId, agent, text!, optionsJson, null,
            thread.Shares, waitForActive, ct).ConfigureAwait(false);
        return new SendMessageResult(thread.ThreadId, task.TaskId, waitForActive ? "queued" : "started", Ids.NewMessageId());
    }

    /// <summary>
    /// The thread with the tasks the caller may read, or not_found. Someone the thread's latest
    /// task is shared with may read the thread.
    /// </summary>
    public async Task<ThreadInfo> GetThreadAsync(Caller caller, string? threadId, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (!Ids.IsValid(threadId)) throw RealtimeAgentsException.Invalid("The thread id is malformed.");
        var thread = await GetAccessibleThreadAsync(caller, threadId!, TaskAccess.Read, ct).ConfigureAwait(false);
        var tasks = new List<TaskInfo>(thread.TaskIds.Count);
        foreach (var id in thread.TaskIds)
        {
            if (await store.GetAsync(id, ct).ConfigureAwait(false) is { } t && AccessOf(caller, t.Owner, t.Shares) != TaskAccess.None)
            {
                tasks.Add(ToInfo(t));
            }
        }
        return new ThreadInfo(thread.ThreadId, thread.Agent, tasks);
    }

    /// <summary>
    /// The access rule of a thread watch, applied at every notice: the notice of task
    /// <paramref name="taskId"/> if the caller may still read the thread and that task; null when
    /// the caller may read the thread but not this task; not_found when the caller no longer may
    /// read the thread (a follow-up un-shared it), which ends the watch.
    /// </summary>
    public async Task<ThreadTaskNotice?> NoticeForWatcherAsync(Caller caller, string threadId, string taskId, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        await GetAccessibleThreadAsync(caller, threadId, TaskAccess.Read, ct).ConfigureAwait(false);
        var task = await store.GetAsync(taskId, ct).ConfigureAwait(false);
        if (task is null || task.ThreadId != threadId || AccessOf(caller, task.Owner, task.Shares) == TaskAccess.None) return null;
        return new ThreadTaskNotice(threadId, task.TaskId, task.Agent, task.Status, task.Input);
    }

    // Like tasks: one read, then the check, so a thread that is not the caller's looks missing.
    private async Task<ThreadRecord> GetAccessibleThreadAsync(Caller caller, string threadId, TaskAccess needed, CancellationToken ct)
    {
        var thread = await store.GetThreadAsync(threadId, ct).ConfigureAwait(false);
        var access = thread is null ? TaskAccess.None : AccessOf(caller, thread.Owner, thread.Shares);
        if (access == TaskAccess.None) throw RealtimeAgentsException.ThreadNotFound(threadId);
        if (access < needed) throw RealtimeAgentsException.ReadOnly("thread", threadId);
        return thread!;
    }

    /// <summary>
    /// Called by the worker after a task ended: starts the oldest task waiting in the thread
    /// (the enqueue policy), unless another of the thread's tasks is still active.
    /// </summary>
    public async Task StartNextInThreadAsync(string threadId, CancellationToken ct = default)
    {
        var thread = await store.GetThreadAsync(threadId, ct).ConfigureAwait(false);
        if (thread is null) return;
        foreach (var id in thread.TaskIds)
        {
            var t = await store.GetAsync(id, ct).ConfigureAwait(false);
            if (t is null || TaskStates.IsTerminal(t.Status)) continue;
            if (t.Status != TaskStates.Pending) return; // one is queued or running already
            await store.UpdateAsync(t.TaskId, new TaskUpdate(Status: TaskStates.Queued), ct).ConfigureAwait(false);
            await queue.EnqueueAsync(t.TaskId, ct).ConfigureAwait(false);
            LogPromoted(logger, t.TaskId, threadId);
            return;
        }
    }

    private async Task<TaskRecord> CreateAndStartAsync(Caller caller, string owner, string threadId, string agent, string input,
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
        var queued = JsonSerializer.SerializeToElement(
            new StatusData(pending ? StatusPhases.Waiting : StatusPhases.Queued, pending ? "waiting for the running task" : null),
            ContractsJsonContext.Default.StatusData);
        await log.AppendAsync(record.TaskId, threadId, EventKinds.Status, queued, Clock.UnixMs(), 0, ct).ConfigureAwait(false);
        if (!pending) await queue.EnqueueAsync(record.TaskId, ct).ConfigureAwait(false);
        LogSubmitted(logger, record.TaskId, agent, threadId);
        var notice = new ThreadTaskNotice(threadId, record.TaskId, agent, record.Status, input);
        foreach (var notifier in notifiers) await notifier.TaskCreatedAsync(notice, ct).ConfigureAwait(false);
        return record;
    }

    /// <summary>Maps a record to the wire shape.</summary>
    public static TaskInfo ToInfo(TaskRecord t) => new()
    {
        TaskId = t.TaskId, ThreadId = t.ThreadId, Agent = t.Agent, Status = t.Status, Input = t.Input,
        Attempt = t.Attempt, CreatedAt = t.CreatedAt, StartedAt = t.StartedAt, EndedAt = t.EndedAt,
    };

    private void ValidateText(string? text, string what)
    {
        if (string.IsNullOrWhiteSpace(text)) throw RealtimeAgentsException.Invalid($"{what} is empty.");
        int bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes > _options.MaxInputBytes)
        {
            throw new RealtimeAgentsException(ErrorCodes.LimitExceeded,
                $"{what} is {bytes} bytes; the limit is {_options.MaxInputBytes} bytes.");
        }
    }

    private string? ValidateOptions(JsonElement? options)
    {
        if (options is not { } o || o.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return null;
        if (o.ValueKind != JsonValueKind.Object) throw RealtimeAgentsException.Invalid("Options must be a JSON object.");
        string json = o.GetRawText();
        if (Encoding.UTF8.GetByteCount(json) > _options.MaxOptionsBytes)
        {
            throw new RealtimeAgentsException(ErrorCodes.LimitExceeded, $"Options are larger than {_options.MaxOptionsBytes} bytes.");
        }
        return json;
    }

    private TaskShares ValidateShares(IReadOnlyList<TaskShare>? shares)
    {
        if (shares is null || shares.Count == 0) return TaskShares.None;
        if (shares.Count > _options.MaxSharesPerTask)
        {
            throw RealtimeAgentsException.Invalid($"A task can be shared with at most {_options.MaxSharesPerTask} groups.");
        }
        foreach (var share in shares)
        {
            if (share is null || string.IsNullOrEmpty(share.Group) || share.Group.Length > 128 || share.Group.Any(char.IsControl))
            {
                throw RealtimeAgentsException.Invalid("A share's group must be 1–128 printable characters.");
            }
            if (share.Access is not (ShareAccess.Read or ShareAccess.Steer))
            {
                throw RealtimeAgentsException.Invalid($"A share's access must be \"read\" or \"steer\", not '{Truncate(share.Access)}'.");
            }
        }
        return new TaskShares(shares);
    }

    private static string Truncate(string? s) => s is null ? "" : s.Length <= 40 ? s : s[..40] + "…";

    [LoggerMessage(EventId = 10, EventName = "TaskSubmitted", Level = LogLevel.Debug,
        Message = "Task {TaskId} submitted to agent {Agent} in thread {ThreadId}.")]
    private static partial void LogSubmitted(ILogger logger, string taskId, string agent, string threadId);

    [LoggerMessage(EventId = 11, EventName = "TaskPromoted", Level = LogLevel.Debug,
        Message = "Task {TaskId} was waiting in thread {ThreadId} and is now queued.")]
    private static partial void LogPromoted(ILogger logger, string taskId, string threadId);
}
