namespace RealtimeAgents.Core;

/// <summary>Limits on what callers may submit. Each has a safe default.</summary>
public sealed class TaskOptions
{
    /// <summary>Largest task input or message text, in UTF-8 bytes (32 KiB).</summary>
    public int MaxInputBytes { get; set; } = 32 * 1024;

    /// <summary>Largest agent options object, in UTF-8 bytes of its JSON.</summary>
    public int MaxOptionsBytes { get; set; } = 4 * 1024;

    /// <summary>Longest idempotency key.</summary>
    public int MaxIdempotencyKeyLength { get; set; } = 128;
}
