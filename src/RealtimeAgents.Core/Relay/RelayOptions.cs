namespace RealtimeAgents.Core.Relay;

/// <summary>Relay tuning.</summary>
public sealed class RelayOptions
{
    /// <summary>Live events buffered per subscription while it replays or its client is slow; past this it reads from the log instead.</summary>
    public int LiveBufferCapacity { get; set; } = 512;

    /// <summary>Events read from the log per request.</summary>
    public int ReadPageSize { get; set; } = 500;

    /// <summary>
    /// When the live feed has been silent this long, read the log anyway. A live event lost
    /// without notice is found by the next one's seq; this finds it when no next one comes
    /// (the lost one was the last).
    /// </summary>
    public TimeSpan IdleCheckInterval { get; set; } = TimeSpan.FromSeconds(10);
}
