namespace RealtimeAgents.Core;

/// <summary>Retention of task streams.</summary>
public sealed class EventLogOptions
{
    /// <summary>Entries kept per task before the oldest are trimmed (approximately, on Redis).</summary>
    public int MaxLength { get; set; } = 20_000;

    /// <summary>How long a stream lives after its terminal event.</summary>
    public TimeSpan TerminalTtl { get; set; } = TimeSpan.FromMinutes(10);
}
