namespace RealtimeAgents.Core;

/// <summary>
/// Limits on what callers may submit (configuration section RealtimeAgents:Tasks). Each has a
/// safe default. The per-user ones do not apply to the local developer of development mode.
/// </summary>
public sealed class TaskOptions
{
    /// <summary>Largest task input or message text, in UTF-8 bytes (32 KiB).</summary>
    public int MaxInputBytes { get; set; } = 32 * 1024;

    /// <summary>Largest agent options object, in UTF-8 bytes of its JSON.</summary>
    public int MaxOptionsBytes { get; set; } = 4 * 1024;

    /// <summary>Longest idempotency key.</summary>
    public int MaxIdempotencyKeyLength { get; set; } = 128;

    /// <summary>Tasks of one user that have not ended (pending, queued, running) at once (20; 0 = no limit).</summary>
    public int MaxActiveTasksPerUser { get; set; } = 20;

    /// <summary>Threads one user keeps at once; a thread lives on for its TTL after its latest task (1000; 0 = no limit).</summary>
    public int MaxThreadsPerUser { get; set; } = 1000;

    /// <summary>Groups one task can be shared with (16).</summary>
    public int MaxSharesPerTask { get; set; } = 16;
}
