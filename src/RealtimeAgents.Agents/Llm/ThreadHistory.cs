using System.Text;
using Microsoft.Extensions.AI;
using RealtimeAgents.Contracts;
using RealtimeAgents.Core;

namespace RealtimeAgents.Agents.Llm;

/// <summary>
/// The conversation so far, rebuilt from the stores: for each earlier task of the thread its input
/// as a user message, then what the assistant said (its text.delta events, split wherever the
/// user injected a message, which becomes a user message in its place). A task that wrote no text
/// contributes its task.completed output. Tool calls of earlier tasks are not replayed; their
/// effect is in the answers. Tasks whose stream has expired contribute their input only.
/// </summary>
internal static class ThreadHistory
{
    private const int Page = 500;

    /// <summary>Messages of up to <paramref name="maxTasks"/> tasks that precede <paramref name="taskId"/> in its thread, oldest first.</summary>
    public static async Task<List<ChatMessage>> LoadAsync(ITaskStore store, IEventLog log, string threadId, string taskId,
        int maxTasks, CancellationToken ct)
    {
        var messages = new List<ChatMessage>();
        var thread = await store.GetThreadAsync(threadId, ct).ConfigureAwait(false);
        if (thread is null || maxTasks <= 0) return messages;
        int current = -1;
        for (int i = 0; i < thread.TaskIds.Count; i++)
        {
            if (thread.TaskIds[i] == taskId) { current = i; break; }
        }
        if (current <= 0) return messages;
        for (int i = Math.Max(0, current - maxTasks); i < current; i++)
        {
            var task = await store.GetAsync(thread.TaskIds[i], ct).ConfigureAwait(false);
            // Tasks that never ran (cancelled while waiting) add nothing the model should answer to.
            if (task is null || task.Attempt == 0) continue;
            messages.Add(new ChatMessage(ChatRole.User, task.Input));
            await AddAnswersAsync(log, task.TaskId, messages, ct).ConfigureAwait(false);
        }
        return messages;
    }

    private static async Task AddAnswersAsync(IEventLog log, string taskId, List<ChatMessage> messages, CancellationToken ct)
    {
        var text = new StringBuilder();
        bool wroteText = false;
        string? output = null;
        var after = StreamId.Zero;
        while (true)
        {
            var page = await log.ReadAsync(taskId, after, Page, ct).ConfigureAwait(false);
            foreach (var e in page)
            {
                switch (e.Kind)
                {
                    case EventKinds.TextDelta:
                        text.Append(e.DataAs(ContractsJsonContext.Default.TextData).Delta);
                        wroteText = true;
                        break;
                    case EventKinds.UserMessage:
                        Flush(text, messages);
                        messages.Add(new ChatMessage(ChatRole.User, e.DataAs(ContractsJsonContext.Default.UserMessageData).Text));
                        break;
                    case EventKinds.TaskCompleted:
                        output = e.DataAs(ContractsJsonContext.Default.TaskCompletedData).Output;
                        break;
                }
            }
            if (page.Count < Page) break;
            after = page[^1].Id;
        }
        if (!wroteText && !string.IsNullOrEmpty(output)) text.Append(output);
        Flush(text, messages);
    }

    private static void Flush(StringBuilder text, List<ChatMessage> messages)
    {
        if (text.Length == 0) return;
        messages.Add(new ChatMessage(ChatRole.Assistant, text.ToString()));
        text.Clear();
    }
}
