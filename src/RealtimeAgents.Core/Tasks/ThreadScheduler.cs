using Microsoft.Extensions.Logging;
using RealtimeAgents.Contracts;

namespace RealtimeAgents.Core;

/// <summary>
/// Runs a thread's tasks one after another: a task sent with the enqueue policy waits (pending)
/// until every task before it has ended, and is queued when the last of them ends.
/// </summary>
internal sealed partial class ThreadScheduler(ITaskStore store, ITaskQueue queue, ILogger<ThreadScheduler> logger) : IThreadScheduler
{
    /// <inheritdoc />
    public async Task TaskEndedAsync(string threadId, CancellationToken cancellationToken = default)
    {
        var thread = await store.GetThreadAsync(threadId, cancellationToken).ConfigureAwait(false);
        if (thread is null) return;
        var tasks = await store.GetManyAsync(thread.TaskIds, cancellationToken).ConfigureAwait(false);
        var next = tasks.FirstOrDefault(t => !TaskStates.IsTerminal(t.Status));
        if (next is null || next.Status != TaskStates.Pending) return; // none waits, or one is queued or running already
        await store.UpdateAsync(next.TaskId, new TaskUpdate(Status: TaskStates.Queued), cancellationToken).ConfigureAwait(false);
        await queue.EnqueueAsync(next.TaskId, cancellationToken).ConfigureAwait(false);
        LogPromoted(logger, next.TaskId, threadId);
    }

    [LoggerMessage(EventId = 11, EventName = "TaskPromoted", Level = LogLevel.Debug,
        Message = "Task {TaskId} was waiting in thread {ThreadId} and is now queued.")]
    private static partial void LogPromoted(ILogger logger, string taskId, string threadId);
}
