namespace RealtimeAgents.Core.Redis;

/// <summary>
/// Every Redis key and channel the product uses, in one place, so that what <c>KEYS ra:*</c>
/// shows can be traced here. Per-task keys share the hash tag <c>{taskId}</c> (one slot on a
/// Redis Cluster, so the append script's keys are co-located). Ids are validated by
/// <see cref="Ids.IsValid"/> before they reach a key: [A-Za-z0-9_-] only, so no id can close a
/// hash tag or inject a separator.
/// </summary>
public sealed class RedisKeys(string prefix)
{
    /// <summary>The prefix of every key, e.g. "ra:".</summary>
    public string Prefix { get; } = prefix;

    /// <summary>Stream: the task's events (fields seq, kind, ts, thread, data).</summary>
    public string Events(string taskId) => $"{Prefix}task:{{{taskId}}}:events";

    /// <summary>Hash: seq counter, epoch (first id), fence (newest attempt), terminal flag.</summary>
    public string EventsMeta(string taskId) => $"{Prefix}task:{{{taskId}}}:meta";

    /// <summary>Pub/sub channel: the task's events as AgentEvent JSON, published by the append script.</summary>
    public string LiveChannel(string taskId) => $"{Prefix}task:{{{taskId}}}:live";

    /// <summary>List: control messages kept for a worker that has not subscribed yet.</summary>
    public string Control(string taskId) => $"{Prefix}task:{{{taskId}}}:control";

    /// <summary>Pub/sub channel: control messages as they are sent.</summary>
    public string ControlChannel(string taskId) => $"{Prefix}task:{{{taskId}}}:ctl";

    /// <summary>Hash: the task record.</summary>
    public string Task(string taskId) => $"{Prefix}task:{{{taskId}}}:info";

    /// <summary>Hash: the thread's owner and latest agent.</summary>
    public string Thread(string threadId) => $"{Prefix}thread:{{{threadId}}}";

    /// <summary>List: the thread's task ids, oldest first.</summary>
    public string ThreadTasks(string threadId) => $"{Prefix}thread:{{{threadId}}}:tasks";

    /// <summary>String: the task created with an idempotency key (owner and key are hashed, they are free text).</summary>
    public string Idempotency(string ownerAndKeyHash) => $"{Prefix}idem:{ownerAndKeyHash}";

    /// <summary>Sorted set: the owner's tasks not yet ended, scored by creation time (the owner is hashed, it is free text).</summary>
    public string OwnerActiveTasks(string ownerHash) => $"{Prefix}user:{ownerHash}:active";

    /// <summary>Sorted set: the owner's threads, scored by when they expire (the owner is hashed, it is free text).</summary>
    public string OwnerThreads(string ownerHash) => $"{Prefix}user:{ownerHash}:threads";

    /// <summary>Stream with consumer group <see cref="QueueGroup"/>: tasks waiting for a worker.</summary>
    public string Queue => $"{Prefix}queue";

    /// <summary>The workers' consumer group on <see cref="Queue"/>.</summary>
    public const string QueueGroup = "workers";
}

/// <summary>Redis mode settings (configuration section RealtimeAgents:Redis* ).</summary>
public sealed class RedisStoreOptions
{
    /// <summary>Connection string: "host:port,password=…" or a redis:// URL.</summary>
    public string Configuration { get; set; } = "";

    /// <summary>Prefix of every key and channel.</summary>
    public string KeyPrefix { get; set; } = "ra:";

    /// <summary>How long a thread's keys live after its last task was created.</summary>
    public TimeSpan ThreadTtl { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long an idempotency key remembers its task.</summary>
    public TimeSpan IdempotencyTtl { get; set; } = TimeSpan.FromHours(24);
}
