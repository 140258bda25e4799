namespace RealtimeAgents.Core.Redis;

/// <summary>
/// Every Redis key and channel the product uses, in one place, so that what <c>SCAN</c> shows can
/// be traced here. Each key carries a hash tag (the part in braces), and every key a Lua script
/// touches shares the script's tag, so every script runs in one slot of a Redis Cluster:
/// <list type="bullet">
/// <item><c>{taskId}</c>: the task's record, events stream, meta hash, control list, and its
/// sharded live and control channels (the append script publishes in the stream's slot).</item>
/// <item><c>{threadId}</c>: the thread's hash and task list.</item>
/// <item><c>{ownerHash}</c>: an owner's active tasks, threads and idempotency keys, so the limit
/// check and the idempotency check are one atomic step.</item>
/// <item><c>{queue}</c>: the task queue stream and its wake-up channel.</item>
/// </list>
/// Ids are validated by <see cref="Ids.IsValid"/> before they reach a key: [A-Za-z0-9_-] only, so
/// no id can close a hash tag or inject a separator. Owners and idempotency keys are free text
/// and are hashed. docs/redis-storage.md lists the layout.
/// </summary>
public sealed class RedisKeys(string prefix)
{
    /// <summary>The prefix of every key, e.g. "ra:".</summary>
    public string Prefix { get; } = prefix;

    /// <summary>Stream: the task's events (fields seq, kind, ts, thread, data).</summary>
    public string Events(string taskId) => $"{Prefix}task:{{{taskId}}}:events";

    /// <summary>Hash: seq counter, epoch (first id), fence (newest attempt), terminal flag.</summary>
    public string EventsMeta(string taskId) => $"{Prefix}task:{{{taskId}}}:meta";

    /// <summary>Sharded pub/sub channel: the task's events in their wire JSON (see EventRecord.Json), published by the append script.</summary>
    public string LiveChannel(string taskId) => $"{Prefix}task:{{{taskId}}}:live";

    /// <summary>List: control messages kept for a worker that has not subscribed yet.</summary>
    public string Control(string taskId) => $"{Prefix}task:{{{taskId}}}:control";

    /// <summary>Sharded pub/sub channel: control messages as they are sent.</summary>
    public string ControlChannel(string taskId) => $"{Prefix}task:{{{taskId}}}:ctl";

    /// <summary>Hash: the task record.</summary>
    public string Task(string taskId) => $"{Prefix}task:{{{taskId}}}:info";

    /// <summary>Hash: the thread's owner, latest agent and shares.</summary>
    public string Thread(string threadId) => $"{Prefix}thread:{{{threadId}}}";

    /// <summary>List: the thread's task ids, oldest first.</summary>
    public string ThreadTasks(string threadId) => $"{Prefix}thread:{{{threadId}}}:tasks";

    /// <summary>Hash: a thread's agent state, a field per agent name (Agent Framework sessions).</summary>
    public string ThreadAgentState(string threadId) => $"{Prefix}thread:{{{threadId}}}:agentstate";

    /// <summary>Hash: a task's tool approvals, <c>req:{toolCallId}</c> and <c>ans:{toolCallId}</c>, each set once.</summary>
    public string Approvals(string taskId) => $"{Prefix}task:{{{taskId}}}:approvals";

    /// <summary>String: the task created with an idempotency key, in the owner's slot (the key is hashed, it is free text).</summary>
    public string Idempotency(string ownerHash, string keyHash) => $"{Prefix}user:{{{ownerHash}}}:idem:{keyHash}";

    /// <summary>Sorted set: the owner's tasks not yet ended, scored by creation time (the owner is hashed, it is free text).</summary>
    public string OwnerActiveTasks(string ownerHash) => $"{Prefix}user:{{{ownerHash}}}:active";

    /// <summary>Sorted set: the owner's threads, scored by when they expire (the owner is hashed, it is free text).</summary>
    public string OwnerThreads(string ownerHash) => $"{Prefix}user:{{{ownerHash}}}:threads";

    /// <summary>Stream with consumer group <see cref="QueueGroup"/>: tasks waiting for a worker.</summary>
    public string Queue => $"{Prefix}{{queue}}";

    /// <summary>Sharded pub/sub channel in the queue's slot: "a task was enqueued", to wake idle workers.</summary>
    public string QueueWake => $"{Prefix}{{queue}}:wake";

    /// <summary>The workers' consumer group on <see cref="Queue"/>.</summary>
    public const string QueueGroup = "workers";
}
