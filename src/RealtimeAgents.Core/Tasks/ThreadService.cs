using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core.Observability;

namespace RealtimeAgents.Core;

/// <summary>
/// The thread operations behind the hub and the HTTP endpoints: a new message by policy, the
/// thread's tasks, the per-notice check of a thread watch. A thread is shared as its latest task;
/// as with tasks, one read of the thread decides access before anything else is read, and a
/// thread's tasks are then read in one store call.
/// </summary>
public sealed class ThreadService(TaskService tasks, ITaskStore store, IControlChannel control, IAgentCatalog agents,
    IOptions<TaskOptions> options)
{
    private readonly TaskRequestValidator _validate = new(options.Value, agents);

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
        policy = TaskRequestValidator.Policy(policy);
        threadId = TaskRequestValidator.ThreadId(threadId);
        _validate.Text(text, "Message");
        var thread = await GetAccessibleThreadAsync(caller, threadId, TaskAccess.Steer, ct).ConfigureAwait(false);

        var threadTasks = await store.GetManyAsync(thread.TaskIds, ct).ConfigureAwait(false);
        var latest = threadTasks.Count > 0 ? threadTasks[^1] : null;
        var active = threadTasks.LastOrDefault(t => !TaskStates.IsTerminal(t.Status));
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
                    await tasks.InterruptCoreAsync(active, "superseded by a new message", ct).ConfigureAwait(false);
                    break;
                default:
                    waitForActive = true;
                    break;
            }
        }
        // The follow-up belongs to the thread's owner and keeps the thread's shares, whoever sent it.
        var task = await tasks.CreateAndStartAsync(caller, thread.Owner, thread.ThreadId, latest?.Agent ?? thread.Agent, text!,
            latest?.OptionsJson, null, thread.Shares, waitForActive, ct).ConfigureAwait(false);
        return new SendMessageResult(thread.ThreadId, task.TaskId, waitForActive ? "queued" : "started", Ids.NewMessageId());
    }

    /// <summary>
    /// The thread with the tasks the caller may read, or not_found. Someone the thread's latest
    /// task is shared with may read the thread.
    /// </summary>
    public async Task<ThreadInfo> GetThreadAsync(Caller caller, string? threadId, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        threadId = TaskRequestValidator.ThreadId(threadId);
        var thread = await GetAccessibleThreadAsync(caller, threadId, TaskAccess.Read, ct).ConfigureAwait(false);
        var threadTasks = await store.GetManyAsync(thread.TaskIds, ct).ConfigureAwait(false);
        return new ThreadInfo(thread.ThreadId, thread.Agent,
            [.. threadTasks.Where(t => TaskAccessRules.AccessOf(caller, t) != TaskAccess.None).Select(t => t.ToInfo())]);
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
        if (task is null || task.ThreadId != threadId || TaskAccessRules.AccessOf(caller, task) == TaskAccess.None) return null;
        return task.ToNotice();
    }

    // Like tasks: one read, then the check, so a thread that is not the caller's looks missing.
    private async Task<ThreadRecord> GetAccessibleThreadAsync(Caller caller, string threadId, TaskAccess needed, CancellationToken ct) =>
        TaskAccessRules.RequireThread(caller, await store.GetThreadAsync(threadId, ct).ConfigureAwait(false), threadId, needed);
}
