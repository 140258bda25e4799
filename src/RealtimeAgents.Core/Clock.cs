namespace RealtimeAgents.Core;

/// <summary>Wall-clock time as the event model stamps it.</summary>
public static class Clock
{
    /// <summary>Unix milliseconds with a sub-millisecond fraction.</summary>
    public static double UnixMs() =>
        (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / (double)TimeSpan.TicksPerMillisecond;
}
