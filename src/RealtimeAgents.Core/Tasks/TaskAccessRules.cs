using RealtimeAgents.Contracts;

namespace RealtimeAgents.Core;

/// <summary>
/// Who may do what with a task or a thread, decided from the record alone: the owner may do
/// everything, members of a group it is shared with may read it (and steer it with "steer"
/// access), and to anyone else it does not exist: they get the very error a missing id gets, so
/// the answer does not tell the two apart. Callers read the record once and then ask here.
/// </summary>
internal static class TaskAccessRules
{
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

    /// <summary>What the caller may do with the task; nothing when there is no task.</summary>
    public static TaskAccess AccessOf(Caller caller, TaskRecord? task) =>
        task is null ? TaskAccess.None : AccessOf(caller, task.Owner, task.Shares);

    /// <summary>
    /// The task if the caller has at least <paramref name="needed"/>; not_found when it is missing
    /// or the caller has no access, read_only when the caller may only read it.
    /// </summary>
    public static TaskRecord RequireTask(Caller caller, TaskRecord? task, string taskId, TaskAccess needed)
    {
        var access = AccessOf(caller, task);
        if (access == TaskAccess.None) throw RealtimeAgentsException.TaskNotFound(taskId);
        // The caller can read it, so saying it exists reveals nothing new.
        if (access < needed) throw RealtimeAgentsException.ReadOnly("task", taskId);
        return task!;
    }

    /// <summary>Like <see cref="RequireTask"/> for a thread (shared as its latest task).</summary>
    public static ThreadRecord RequireThread(Caller caller, ThreadRecord? thread, string threadId, TaskAccess needed)
    {
        var access = thread is null ? TaskAccess.None : AccessOf(caller, thread.Owner, thread.Shares);
        if (access == TaskAccess.None) throw RealtimeAgentsException.ThreadNotFound(threadId);
        if (access < needed) throw RealtimeAgentsException.ReadOnly("thread", threadId);
        return thread!;
    }
}
