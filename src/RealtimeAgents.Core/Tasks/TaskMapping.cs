using RealtimeAgents.Contracts;

namespace RealtimeAgents.Core;

/// <summary>Stored records to their wire shapes.</summary>
internal static class TaskMapping
{
    /// <summary>The task as GetTask and GetThread return it (no owner, shares or options).</summary>
    public static TaskInfo ToInfo(this TaskRecord t) => new()
    {
        TaskId = t.TaskId, ThreadId = t.ThreadId, Agent = t.Agent, Status = t.Status, Input = t.Input,
        Attempt = t.Attempt, CreatedAt = t.CreatedAt, StartedAt = t.StartedAt, EndedAt = t.EndedAt,
    };

    /// <summary>The task as a thread watcher is told about it.</summary>
    public static ThreadTaskNotice ToNotice(this TaskRecord t) => new(t.ThreadId, t.TaskId, t.Agent, t.Status, t.Input);
}
