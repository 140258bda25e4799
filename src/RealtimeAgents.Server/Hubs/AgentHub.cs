using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;
using RealtimeAgents.Core.Relay;
using RealtimeAgents.Server.Auth;

namespace RealtimeAgents.Server.Hubs;

/// <summary>
/// The SignalR face of the product. Every method validates before it acts; refusals reach the
/// client as a HubException with a readable message (see <see cref="ErrorFilter"/>). Events of
/// subscribed tasks arrive on the client method "event".
/// </summary>
public sealed class AgentHub(TaskService tasks, ThreadService threads, EventRelay relay, SubscriptionRegistry subscriptions, ThreadWatchers watchers,
    CallerResolver callers, IOptions<LimitOptions> limits, IOptions<TaskOptions> taskLimits, IOptions<HubOptions> hubOptions) : Hub
{
    /// <summary>The caller; the task service decides what it may see and do.</summary>
    private Caller Caller => callers.For(Context.User);

    /// <summary>Creates a task and queues it for a worker.</summary>
    public Task<SubmitTaskResult> SubmitTask(SubmitTaskRequest request) =>
        tasks.SubmitAsync(Caller, request ?? throw RealtimeAgentsException.Invalid("The request is missing."), Context.ConnectionAborted);

    /// <summary>
    /// Streams the task's events after <paramref name="cursor"/> (null or "0-0" from the start,
    /// "$" live only, an event id strictly after it) and then live, to the client method "event".
    /// Subscribing again to the same task replaces the earlier subscription.
    /// </summary>
    public async Task<SubscribeResult> Subscribe(string taskId, string? cursor)
    {
        if (!Cursor.TryParse(cursor, out var position))
        {
            throw RealtimeAgentsException.Invalid("The cursor is malformed: use null, \"0-0\", \"$\" or an event id like \"1732200000000-0\".");
        }
        // Every Subscribe checks access, including the SDK's resubscribe after a reconnect.
        var task = await tasks.GetReadableAsync(Caller, taskId, Context.ConnectionAborted).ConfigureAwait(false);
        int max = limits.Value.MaxSubscriptionsPerConnection;
        if (max > 0 && !subscriptions.Holds(Context.ConnectionId, task.TaskId) && subscriptions.CountOf(Context.ConnectionId) >= max)
        {
            throw RealtimeAgentsException.Quota($"This connection holds {max} subscriptions; that is the limit. Unsubscribe from one first.");
        }
        var subscription = await relay.SubscribeAsync(task.TaskId, position, subscriptions.SinkFor(Context), Context.ConnectionAborted)
            .ConfigureAwait(false);
        await subscriptions.AddAsync(Context.ConnectionId, subscription).ConfigureAwait(false);
        return new SubscribeResult(task.TaskId, task.Status, subscription.Recovered, subscription.Cursor, subscription.Epoch);
    }

    /// <summary>Stops the subscription to the task (nothing happens if there is none).</summary>
    public async Task Unsubscribe(string taskId)
    {
        if (!Ids.IsValid(taskId)) throw RealtimeAgentsException.Invalid("The task id is malformed.");
        await subscriptions.RemoveAsync(Context.ConnectionId, taskId).ConfigureAwait(false);
    }

    /// <summary>Interrupts the task: it ends with task.cancelled.</summary>
    public Task Interrupt(string taskId, string? reason) =>
        tasks.InterruptAsync(Caller, taskId, reason, Context.ConnectionAborted);

    /// <summary>Sends a user message into a thread with a policy: interrupt (default), enqueue, reject or inject.</summary>
    public Task<SendMessageResult> SendMessage(string threadId, string text, string? policy) =>
        threads.SendMessageAsync(Caller, threadId, text, policy, Context.ConnectionAborted);

    /// <summary>Answers a tool call's approval: approved, the tool runs; denied, the agent goes on without it.</summary>
    public Task<ApprovalAnswerResult> RespondToApproval(string taskId, string toolCallId, bool approved, string? reason) =>
        tasks.RespondToApprovalAsync(Caller, taskId, toolCallId, approved, reason, Context.ConnectionAborted);

    /// <summary>The task's metadata.</summary>
    public Task<TaskInfo> GetTask(string taskId) =>
        tasks.GetTaskAsync(Caller, taskId, Context.ConnectionAborted);

    /// <summary>
    /// The thread's tasks so far; each new task of the thread the caller may read follows on
    /// "threadTask". Access is checked again at every new task: losing it ends the watch on "threadEnded".
    /// </summary>
    public Task<ThreadInfo> SubscribeThread(string threadId)
    {
        if (!Ids.IsValid(threadId)) throw RealtimeAgentsException.Invalid("The thread id is malformed.");
        int max = limits.Value.MaxSubscriptionsPerConnection;
        if (max > 0 && watchers.CountOf(Context.ConnectionId) >= max)
        {
            throw RealtimeAgentsException.Quota($"This connection watches {max} threads; that is the limit. Stop watching one first.");
        }
        return watchers.WatchAsync(Context, threadId, Context.ConnectionAborted);
    }

    /// <summary>Stops watching the thread (nothing happens if the connection does not watch it).</summary>
    public async Task UnsubscribeThread(string threadId)
    {
        if (!Ids.IsValid(threadId)) throw RealtimeAgentsException.Invalid("The thread id is malformed.");
        await watchers.UnwatchAsync(Context.ConnectionId, threadId).ConfigureAwait(false);
    }

    /// <summary>What this hub accepts; the SDKs ask once before sending a large input.</summary>
    public HubLimits GetLimits() => new(taskLimits.Value.MaxInputBytes, taskLimits.Value.MaxOptionsBytes,
        hubOptions.Value.MaximumReceiveMessageSize ?? long.MaxValue);

    /// <inheritdoc />
    public override async Task OnDisconnectedAsync(Exception? exception)
    {
        await subscriptions.RemoveConnectionAsync(Context.ConnectionId).ConfigureAwait(false);
        await watchers.RemoveConnectionAsync(Context.ConnectionId).ConfigureAwait(false);
        await base.OnDisconnectedAsync(exception).ConfigureAwait(false);
    }
}
